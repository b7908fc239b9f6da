// SPDX-License-Identifier: GPL-2.0
/* Reading the kernel state: debugfs VM directories and /proc of the VMMs */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kstate.h"

char *kt_read_file(const char *path)
{
	return kt_read_file_len(path, NULL);
}

char *kt_read_file_len(const char *path, size_t *lenp)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap), *nbuf;
	ssize_t n;
	int fd, saved;

	if (!buf)
		return NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		goto err;
	/* debugfs and procfs files have no size: read until EOF */
	for (;;) {
		if (cap - len < 2) {
			nbuf = realloc(buf, cap * 2);
			if (!nbuf) {
				errno = ENOMEM;
				goto err_close;
			}
			buf = nbuf;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			goto err_close;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	if (lenp)
		*lenp = len;
	return buf;
err_close:
	saved = errno;
	close(fd);
	errno = saved;
err:
	saved = errno;
	free(buf);
	errno = saved;
	return NULL;
}

static int perr(char *err, size_t errlen, const char *fmt, int line, const char *what)
{
	snprintf(err, errlen, fmt, line, what);
	return -EINVAL;
}

int kt_parse_locked_memslots(const char *text, struct kt_kvm *k, char *err,
			     size_t errlen)
{
	const char *p = text, *nl;
	char line[256], prot[8];
	int lineno = 0, used;
	size_t cap = 0;

	k->slots = NULL;
	k->nr_slots = 0;
	while (*p) {
		struct kt_kslot s = {};
		size_t len;

		nl = strchr(p, '\n');
		len = nl ? (size_t)(nl - p) : strlen(p);
		lineno++;
		if (len >= sizeof(line))
			goto bad_len;
		memcpy(line, p, len);
		line[len] = '\0';
		p += len + (nl ? 1 : 0);

		if (lineno == 1) {
			unsigned long long vm;
			unsigned int pid;

			if (sscanf(line, "vm %llu pid %u%n", &vm, &pid, &used) != 2 ||
			    line[used])
				goto bad;
			k->vm = vm;
			k->pid = pid;
			continue;
		}
		if (lineno == 2) {
			if (strcmp(line, "slot ipa_start ipa_end npages prot hva locked_at_ns lock_duration_ns"))
				goto bad;
			continue;
		}
		if (sscanf(line, "%" SCNu32 " 0x%" SCNx64 " 0x%" SCNx64 " %" SCNu64
			   " %7s 0x%" SCNx64 " %" SCNu64 " %" SCNu64 "%n",
			   &s.slot, &s.ipa_start, &s.ipa_end, &s.npages, prot,
			   &s.hva, &s.locked_at_ns, &s.lock_duration_ns, &used) != 8 ||
		    line[used] || s.ipa_end < s.ipa_start)
			goto bad;
		if (!strcmp(prot, "rw"))
			s.rw = true;
		else if (strcmp(prot, "r"))
			goto bad;
		if (k->nr_slots == cap) {
			struct kt_kslot *n;

			cap = cap ? cap * 2 : 8;
			n = realloc(k->slots, cap * sizeof(*n));
			if (!n) {
				snprintf(err, errlen, "out of memory");
				goto fail;
			}
			k->slots = n;
		}
		k->slots[k->nr_slots++] = s;
	}
	if (lineno < 2) {
		snprintf(err, errlen, "locked_memslots: %d lines, want 2 or more", lineno);
		goto fail;
	}
	return 0;
bad_len:
	perr(err, errlen, "locked_memslots:%d: %s", lineno, "line too long");
	goto fail;
bad:
	perr(err, errlen, "locked_memslots:%d: malformed line '%s'", lineno, line);
fail:
	free(k->slots);
	k->slots = NULL;
	k->nr_slots = 0;
	return -EINVAL;
}

void kt_free_vms(struct kt_kvm *vms, size_t nr)
{
	size_t i;

	for (i = 0; i < nr; i++)
		free(vms[i].slots);
	free(vms);
}

/* root opened for its VM directories, or NULL with err set (*ret: -errno) */
static DIR *open_root(const char *root, int *ret, char *err, size_t errlen)
{
	DIR *d = opendir(root);

	if (!d) {
		*ret = -errno;
		snprintf(err, errlen, "cannot read %s: %s", root, strerror(errno));
	}
	return d;
}

/*
 * The locked_memslots of root/name into *k (k->dir set): 0; 1 when there
 * is none (not a VM directory, or the VM just went); -EINVAL with err set
 * when it does not parse.
 */
static int read_vm_dir(const char *root, const char *name, struct kt_kvm *k,
		       char *err, size_t errlen)
{
	char path[512], perr_buf[200], *text;
	int ret;

	memset(k, 0, sizeof(*k));
	if (strlen(name) >= sizeof(k->dir))
		return 1;
	snprintf(path, sizeof(path), "%s/%s/locked_memslots", root, name);
	text = kt_read_file(path);
	if (!text)
		return 1;
	ret = kt_parse_locked_memslots(text, k, perr_buf, sizeof(perr_buf));
	free(text);
	if (ret) {
		snprintf(err, errlen, "%s/%s/%s", root, name, perr_buf);
		return ret;
	}
	strcpy(k->dir, name);
	return 0;
}

int kt_read_vm(const char *root, const char *dir, struct kt_kvm *k, char *err,
	       size_t errlen)
{
	int ret = read_vm_dir(root, dir, k, err, errlen);

	if (ret > 0) {
		snprintf(err, errlen, "%s/%s: gone", root, dir);
		ret = -ENOENT;
	}
	return ret;
}

int kt_list_vms(const char *root, struct kt_kvm **vmsp, size_t *nrp, char *err,
		size_t errlen)
{
	struct kt_kvm *vms = NULL, *n;
	size_t nr = 0, cap = 0;
	struct dirent *de;
	int ret = 0;
	DIR *d;

	d = open_root(root, &ret, err, errlen);
	if (!d)
		return ret;
	while ((de = readdir(d))) {
		struct kt_kvm k;

		if (de->d_name[0] == '.')
			continue;
		ret = read_vm_dir(root, de->d_name, &k, err, errlen);
		if (ret > 0) {
			ret = 0;
			continue;
		}
		if (ret)
			break;
		if (nr == cap) {
			cap = cap ? cap * 2 : 8;
			n = realloc(vms, cap * sizeof(*n));
			if (!n) {
				free(k.slots);
				ret = -ENOMEM;
				snprintf(err, errlen, "out of memory");
				break;
			}
			vms = n;
		}
		vms[nr++] = k;
	}
	closedir(d);
	if (ret) {
		kt_free_vms(vms, nr);
		return ret;
	}
	*vmsp = vms;
	*nrp = nr;
	return 0;
}

static const struct kt_vm_dir *find_dir(const struct kt_vm_dirs *dirs,
					const char *name, uint64_t ino)
{
	size_t i;

	for (i = 0; i < dirs->n; i++)
		if (dirs->d[i].ino == ino && !strcmp(dirs->d[i].dir, name))
			return &dirs->d[i];
	return NULL;
}

/* ticks since boot (/proc/PID/stat's start time) as CLOCK_REALTIME ns */
static uint64_t ticks_to_realtime_ns(uint64_t ticks)
{
	struct timespec rt, bt;
	uint64_t hz = (uint64_t)sysconf(_SC_CLK_TCK);

	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_BOOTTIME, &bt);
	return (uint64_t)rt.tv_sec * 1000000000ULL + rt.tv_nsec -
	       ((uint64_t)bt.tv_sec * 1000000000ULL + bt.tv_nsec) +
	       ticks * (1000000000ULL / (hz ? hz : 100));
}

/*
 * The VMM of the new VM directory e (e->pid the creating thread): its
 * process and that process's start time. A thread of that pid that
 * started after the directory was made is not the creator, which is
 * gone: its pid was reused, and the VMM is not known (start
 * KT_START_GONE: no process matches). Without /proc/PID/stat (start 0)
 * the process is not checked.
 */
static void creator(const char *root, const char *proc_root, struct kt_vm_dir *e)
{
	char path[512];
	uint64_t thread_start;
	struct stat st;

	e->tgid = kt_proc_tgid(proc_root, e->pid);
	if (!e->tgid) {
		e->tgid = e->pid;
		e->start = KT_START_GONE;
		return;
	}
	snprintf(path, sizeof(path), "%s/%s", root, e->dir);
	thread_start = kt_proc_start(proc_root, e->pid);
	if (thread_start && !stat(path, &st) &&
	    ticks_to_realtime_ns(thread_start) >
	    (uint64_t)st.st_ctim.tv_sec * 1000000000ULL + st.st_ctim.tv_nsec +
	    KT_START_SLACK_NS) {
		e->tgid = e->pid;
		e->start = KT_START_GONE;
		return;
	}
	/* a VM made by the VMM's main thread: its start time is read already */
	e->start = e->tgid == e->pid && thread_start ? thread_start :
		   kt_proc_start(proc_root, e->tgid);
	kt_read_vmm_id(proc_root, e->tgid, &e->id);
}

int kt_live_vms(const char *root, const char *proc_root, struct kt_vm_dirs *dirs,
		char *err, size_t errlen)
{
	struct kt_vm_dirs next = {};
	char perr_buf[400];
	size_t cap = 0;
	struct dirent *de;
	int ret = 0, skipped = 0;
	DIR *d;

	d = open_root(root, &ret, err, errlen);
	if (!d)
		return ret;
	while ((de = readdir(d))) {
		const struct kt_vm_dir *old;
		struct kt_vm_dir e = {};

		if (de->d_name[0] == '.' || strlen(de->d_name) >= sizeof(e.dir) ||
		    (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN))
			continue;
		old = find_dir(dirs, de->d_name, de->d_ino);
		if (old) {
			e = *old;
		} else {
			struct kt_kvm k;

			ret = read_vm_dir(root, de->d_name, &k, perr_buf, sizeof(perr_buf));
			free(k.slots);
			if (ret) {
				/* left out: a new one that does not parse is a warning */
				if (ret < 0 && !skipped++)
					snprintf(err, errlen, "%s", perr_buf);
				ret = 0;
				continue;
			}
			strcpy(e.dir, de->d_name);
			e.ino = de->d_ino;
			e.vm = k.vm;
			e.pid = k.pid;
			creator(root, proc_root, &e);
		}
		if (next.n == cap) {
			struct kt_vm_dir *n;

			cap = cap ? cap * 2 : 8;
			n = realloc(next.d, cap * sizeof(*n));
			if (!n) {
				ret = -ENOMEM;
				snprintf(err, errlen, "out of memory");
				break;
			}
			next.d = n;
		}
		next.d[next.n++] = e;
	}
	closedir(d);
	if (ret) {
		kt_vm_dirs_free(&next);
		return ret;
	}
	kt_vm_dirs_free(dirs);
	*dirs = next;
	return skipped;
}

void kt_vm_dirs_free(struct kt_vm_dirs *dirs)
{
	free(dirs->d);
	dirs->d = NULL;
	dirs->n = 0;
}

static int read_u64_file(const char *path, uint64_t *v)
{
	char *text = kt_read_file(path), *end;
	int ret = -EINVAL;

	if (!text)
		return -errno;
	errno = 0;
	*v = strtoull(text, &end, 10);
	if (end != text && !errno && (*end == '\n' || !*end))
		ret = 0;
	free(text);
	return ret;
}

int kt_read_kstats(const char *root, const char *dir, uint64_t *slots,
		   uint64_t *pages)
{
	char path[512];
	int ret;

	snprintf(path, sizeof(path), "%s/%s/locked_slots", root, dir);
	ret = read_u64_file(path, slots);
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "%s/%s/locked_pages", root, dir);
	return read_u64_file(path, pages);
}

int kt_parse_proc_status(const char *text, uint64_t *vmlck_bytes)
{
	const char *p = strstr(text, "\nVmLck:");
	unsigned long long kb;

	if (!strncmp(text, "VmLck:", 6))
		p = text - 1;
	if (!p || sscanf(p + 7, " %llu kB", &kb) != 1)
		return -ENOENT;
	*vmlck_bytes = kb * 1024;
	return 0;
}

int kt_parse_proc_tgid(const char *text, uint32_t *tgid)
{
	const char *p = strstr(text, "\nTgid:");
	unsigned int v;

	if (!strncmp(text, "Tgid:", 5))
		p = text - 1;
	if (!p || sscanf(p + 6, " %u", &v) != 1 || !v)
		return -ENOENT;
	*tgid = v;
	return 0;
}

/* proc_root/PID/NAME, whole (kt_read_file_len(), lenp may be NULL) */
static char *read_proc_file(const char *proc_root, uint32_t pid, const char *name,
			    size_t *lenp)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%" PRIu32 "/%s", proc_root, pid, name);
	return kt_read_file_len(path, lenp);
}

uint32_t kt_proc_tgid(const char *proc_root, uint32_t pid)
{
	char *text = read_proc_file(proc_root, pid, "status", NULL);
	uint32_t tgid = 0;

	if (text) {
		kt_parse_proc_tgid(text, &tgid);
		free(text);
	}
	return tgid;
}

int kt_parse_proc_stat_start(const char *text, uint64_t *start)
{
	/* comm, field 2, may hold spaces and ')': fields 3 on follow the last */
	const char *p = strrchr(text, ')');
	unsigned long long v;
	int i;

	if (!p)
		return -ENOENT;
	p++;
	/* starttime is field 22: skip fields 3 to 21 */
	for (i = 3; i <= 21; i++) {
		p += strspn(p, " ");
		p += strcspn(p, " ");
		if (!*p)
			return -ENOENT;
	}
	if (sscanf(p, " %llu", &v) != 1)
		return -ENOENT;
	*start = v;
	return 0;
}

uint64_t kt_proc_start(const char *proc_root, uint32_t pid)
{
	char *text = read_proc_file(proc_root, pid, "stat", NULL);
	uint64_t start = 0;

	if (text) {
		kt_parse_proc_stat_start(text, &start);
		free(text);
	}
	return start;
}

int kt_parse_qemu_name(const char *cmdline, size_t len, char *name, size_t namelen)
{
	const char *p = cmdline, *end = cmdline + len, *v, *g;
	size_t n;

	for (; p < end; p += strnlen(p, (size_t)(end - p)) + 1) {
		if (strcmp(p, "-name") && strcmp(p, "--name"))
			continue;
		v = p + strlen(p) + 1;
		if (v >= end)
			return -ENOENT;
		/* "guest=NAME,...", or a first element without a key: NAME */
		g = strstr(v, "guest=");
		if (g && (g == v || g[-1] == ','))
			v = g + strlen("guest=");
		n = strcspn(v, ",");
		if (!n || memchr(v, '=', n))
			return -ENOENT;
		snprintf(name, namelen, "%.*s", (int)n, v);
		return 0;
	}
	return -ENOENT;
}

int kt_parse_proc_cgroup(const char *text, char *path, size_t pathlen)
{
	static const char v1[] = ":name=systemd:";
	const char *line = text, *found = NULL, *p;
	size_t n;

	while (*line) {
		n = strcspn(line, "\n");
		if (!strncmp(line, "0::", 3)) {
			snprintf(path, pathlen, "%.*s", (int)(n - 3), line + 3);
			return 0;
		}
		p = strstr(line, v1);
		if (!found && p && p < line + n)
			found = p + strlen(v1);
		line += n + (line[n] == '\n');
	}
	if (!found)
		return -ENOENT;
	snprintf(path, pathlen, "%.*s", (int)strcspn(found, "\n"), found);
	return 0;
}

void kt_read_vmm_id(const char *proc_root, uint32_t pid, struct kt_vmm_id *id)
{
	char *text;
	size_t len;

	memset(id, 0, sizeof(*id));
	text = read_proc_file(proc_root, pid, "cmdline", &len);
	if (text) {
		kt_parse_qemu_name(text, len, id->name, sizeof(id->name));
		free(text);
	}
	text = read_proc_file(proc_root, pid, "cgroup", NULL);
	if (text) {
		kt_parse_proc_cgroup(text, id->cgroup, sizeof(id->cgroup));
		free(text);
	}
}

int kt_parse_proc_limits(const char *text, bool *unlimited, uint64_t *bytes)
{
	const char *p = strstr(text, "Max locked memory");
	char soft[32];
	unsigned long long v;
	char *end;

	if (!p || sscanf(p + strlen("Max locked memory"), " %31s", soft) != 1)
		return -ENOENT;
	if (!strcmp(soft, "unlimited")) {
		*unlimited = true;
		*bytes = 0;
		return 0;
	}
	errno = 0;
	v = strtoull(soft, &end, 10);
	if (errno || *end || end == soft)
		return -EINVAL;
	*unlimited = false;
	*bytes = v;
	return 0;
}

void kt_read_proc(const char *proc_root, uint32_t pid, uint64_t start,
		  struct kt_proc *p)
{
	char *text;
	size_t len;

	memset(p, 0, sizeof(*p));
	strcpy(p->comm, "?");
	/* another process with the VMM's pid, or none: the VMM is gone */
	if (start == KT_START_GONE ||
	    (start && kt_proc_start(proc_root, pid) != start))
		return;
	text = read_proc_file(proc_root, pid, "comm", NULL);
	if (!text)
		return;
	p->known = true;
	len = strcspn(text, "\n");
	text[len] = '\0';
	snprintf(p->comm, sizeof(p->comm), "%s", text);
	free(text);

	text = read_proc_file(proc_root, pid, "status", NULL);
	if (text) {
		p->vmlck_known = !kt_parse_proc_status(text, &p->vmlck_bytes);
		free(text);
	}
	text = read_proc_file(proc_root, pid, "limits", NULL);
	if (text) {
		p->limit_known = !kt_parse_proc_limits(text, &p->limit_unlimited,
							&p->limit_bytes);
		free(text);
	}
}
