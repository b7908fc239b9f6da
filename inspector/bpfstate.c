// SPDX-License-Identifier: GPL-2.0
/* kvmlock-top: reading, pruning, seeding and pinning the BPF maps */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>

#include "bpfstate.h"

const struct kt_event_layout kt_event_layouts[KT_NR_EVENTS] = {
	/* vm, pid, slot, flags */
	{ "kvm_memslot_lock_begin", 4, { 8, 4, 4, 8 } },
	/* vm, pid, slot, hva, npages, writable, retries, duration_ns */
	{ "kvm_memslot_pin", 8, { 8, 4, 4, 8, 8, 1, 4, 8 } },
	/* vm, pid, slot, ipa, size, prot, duration_ns */
	{ "kvm_memslot_map", 7, { 8, 4, 4, 8, 8, 4, 8 } },
	/* vm, pid, slot, npages, locked_vm, limit, cap_ipc_lock, err */
	{ "kvm_memslot_account_fail", 8, { 8, 4, 4, 8, 8, 8, 1, 4 } },
	/* vm, pid, slot, flags, npages, ret, duration_ns */
	{ "kvm_memslot_lock_end", 7, { 8, 4, 4, 8, 8, 4, 8 } },
	/* vm, pid, slot, flags */
	{ "kvm_memslot_unlock_begin", 4, { 8, 4, 4, 8 } },
	/* vm, pid, slot, npages, dirtied, unmapped, reason, duration_ns */
	{ "kvm_memslot_unlock", 8, { 8, 4, 4, 8, 1, 1, 4, 8 } },
	/* vm, pid, slot, flags, nr_slots, ret, duration_ns */
	{ "kvm_memslot_unlock_end", 7, { 8, 4, 4, 8, 4, 4, 8 } },
	/* vm, pid, ops (unsigned long), nr_slots, npages, duration_ns */
	{ "kvm_memslot_deferred_ops", 6, { 8, 4, sizeof(unsigned long), 4, 8, 8 } },
};

int kt_vm_changed(int stats_fd, uint64_t vm, const struct kt_vm_stats *dumped)
{
	static struct kt_vm_stats now;	/* 5 KiB: not on the stack */

	if (bpf_map_lookup_elem(stats_fd, &vm, &now)) {
		if (errno != ENOENT)
			return -errno;
		return dumped != NULL;
	}
	return !dumped || now.last_event_ns != dumped->last_event_ns;
}

/* "8 4 4 8" of n sizes */
static void fmt_sizes(char *buf, size_t len, const long *sizes, unsigned int n)
{
	size_t off = 0;
	unsigned int i;

	buf[0] = '\0';
	for (i = 0; i < n && off < len; i++)
		off += snprintf(buf + off, len - off, "%s%ld", i ? " " : "", sizes[i]);
}

int kt_check_event_layouts(const struct btf *btf, char *err, size_t errlen)
{
	int differ = 0;
	size_t e;

	for (e = 0; e < KT_NR_EVENTS; e++) {
		const struct kt_event_layout *l = &kt_event_layouts[e];
		long kernel[16], ours[KT_EVENT_MAX_ARGS];
		const struct btf_param *params;
		const struct btf_type *t;
		char name[64], a[80], b[80];
		unsigned int i, n;
		bool same;
		int id;

		snprintf(name, sizeof(name), "btf_trace_%s", l->name);
		id = btf__find_by_name_kind(btf, name, BTF_KIND_TYPEDEF);
		if (id <= 0)
			continue;
		t = btf__type_by_id(btf, id);
		t = t ? btf__type_by_id(btf, t->type) : NULL;
		if (!t || !btf_is_ptr(t))
			return -EINVAL;
		t = btf__type_by_id(btf, t->type);
		if (!t || !btf_is_func_proto(t) || !btf_vlen(t))
			return -EINVAL;
		/* the first parameter is the tracepoint's context pointer */
		n = btf_vlen(t) - 1;
		params = btf_params(t) + 1;
		same = n == l->nr_args;
		for (i = 0; i < n && i < 16; i++) {
			kernel[i] = btf__resolve_size(btf, params[i].type);
			if (i >= l->nr_args || kernel[i] != l->size[i])
				same = false;
		}
		if (same)
			continue;
		if (!differ++) {
			for (i = 0; i < l->nr_args; i++)
				ours[i] = l->size[i];
			fmt_sizes(a, sizeof(a), kernel, n < 16 ? n : 16);
			fmt_sizes(b, sizeof(b), ours, l->nr_args);
			snprintf(err, errlen,
				 "%s: the kernel passes %u arguments (%s bytes), this kvmlock-top reads %u (%s): it was built for another version of the kvmlock series",
				 l->name, n, a, l->nr_args, b);
		}
	}
	return differ;
}

static size_t cmp_key_size;

static int key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, cmp_key_size);
}

static size_t dedup(char *buf, size_t n, size_t key_size, size_t entry_size)
{
	size_t i, out = 0;

	if (n < 2)
		return n;
	cmp_key_size = key_size;
	qsort(buf, n, entry_size, key_cmp);
	for (i = 0; i < n; i++) {
		if (out && !memcmp(buf + (out - 1) * entry_size, buf + i * entry_size, key_size))
			continue;
		if (out != i)
			memcpy(buf + out * entry_size, buf + i * entry_size, entry_size);
		out++;
	}
	return out;
}

/*
 * get_next_key + lookup rather than batch lookups: the maps are small, and
 * an entry deleted meanwhile (ENOENT) is simply skipped.
 */
static int dump(int fd, size_t key_size, size_t val_size, size_t entry_size,
		void **out, size_t *nr)
{
	unsigned char key[sizeof(struct kt_slot_key)], next[sizeof(key)];
	size_t n = 0, cap = 0;
	char *buf = NULL, *nbuf;
	void *prev = NULL;
	int err;

	for (;;) {
		err = bpf_map_get_next_key(fd, prev, next);
		if (err) {
			if (errno == ENOENT)
				break;
			err = -errno;
			goto fail;
		}
		memcpy(key, next, key_size);
		prev = key;
		/* restarts cannot go on for ever: entries are bounded */
		if (n > 4 * KT_MAX_SLOT_ENTRIES)
			break;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			nbuf = realloc(buf, cap * entry_size);
			if (!nbuf) {
				err = -ENOMEM;
				goto fail;
			}
			buf = nbuf;
		}
		/* entry = key, then value at its aligned offset */
		if (bpf_map_lookup_elem(fd, key, buf + n * entry_size +
					(entry_size - val_size)))
			continue;
		memcpy(buf + n * entry_size, key, key_size);
		n++;
	}
	/*
	 * A key deleted under us makes get_next_key start again from the
	 * first: drop the duplicates that gives.
	 */
	n = dedup(buf, n, key_size, entry_size);
	*out = buf;
	*nr = n;
	return 0;
fail:
	free(buf);
	return err;
}

int kt_dump_stats(int fd, struct kt_stats_entry **out, size_t *nr)
{
	_Static_assert(sizeof(struct kt_stats_entry) ==
		       sizeof(uint64_t) + sizeof(struct kt_vm_stats), "layout");
	return dump(fd, sizeof(uint64_t), sizeof(struct kt_vm_stats),
		    sizeof(struct kt_stats_entry), (void **)out, nr);
}

int kt_dump_slots(int fd, struct kt_slot_entry **out, size_t *nr)
{
	_Static_assert(sizeof(struct kt_slot_entry) ==
		       sizeof(struct kt_slot_key) + sizeof(struct kt_slot), "layout");
	return dump(fd, sizeof(struct kt_slot_key), sizeof(struct kt_slot),
		    sizeof(struct kt_slot_entry), (void **)out, nr);
}

/* Deletes the "slots" entries of these VMs, but LOCKs in flight with keep_pending */
static int delete_slots(int slots_fd, const uint64_t *vms, size_t nr, bool keep_pending)
{
	struct kt_slot_entry *slots;
	size_t i, j, nslots;
	int err;

	err = kt_dump_slots(slots_fd, &slots, &nslots);
	if (err)
		return err;
	for (j = 0; j < nslots && !err; j++) {
		if (keep_pending && slots[j].val.state == KT_SLOT_PENDING)
			continue;
		for (i = 0; i < nr; i++)
			if (slots[j].key.vm == vms[i] &&
			    bpf_map_delete_elem(slots_fd, &slots[j].key) &&
			    errno != ENOENT) {
				err = -errno;
				break;
			}
	}
	free(slots);
	return err;
}

int kt_delete_vms(int stats_fd, int slots_fd, const uint64_t *vms, size_t nr,
		  struct kt_vm_stats *last)
{
	size_t i;

	if (!nr)
		return 0;
	for (i = 0; i < nr; i++) {
		if (!last) {
			if (bpf_map_delete_elem(stats_fd, &vms[i]) && errno != ENOENT)
				return -errno;
			continue;
		}
		/* what the entry holds as it goes, events since the dump too */
		if (bpf_map_lookup_and_delete_elem(stats_fd, &vms[i], &last[i])) {
			if (errno != ENOENT)
				return -errno;
			memset(&last[i], 0, sizeof(last[i]));
		}
	}
	return delete_slots(slots_fd, vms, nr, false);
}

int kt_prune_vms(int stats_fd, int slots_fd, struct kt_stats_entry *cur, size_t nr,
		 const uint64_t *live, size_t nr_live)
{
	struct kt_vm_stats *last = NULL;
	uint64_t *gone = NULL;
	size_t *at = NULL, i, j, n = 0;
	int err = -ENOMEM;

	if (!nr)
		return 0;
	gone = calloc(nr, sizeof(*gone));
	at = calloc(nr, sizeof(*at));
	last = calloc(nr, sizeof(*last));
	if (!gone || !at || !last)
		goto out;
	for (i = 0; i < nr; i++) {
		for (j = 0; j < nr_live && live[j] != cur[i].vm; j++)
			;
		if (j == nr_live) {
			at[n] = i;
			gone[n++] = cur[i].vm;
		}
	}
	err = kt_delete_vms(stats_fd, slots_fd, gone, n, last);
	if (err)
		goto out;
	for (i = 0; i < n; i++)
		if (last[i].last_event_ns)	/* else deleted already: as dumped */
			cur[at[i]].s = last[i];
	err = (int)n;
out:
	free(last);
	free(at);
	free(gone);
	return err;
}

int kt_reconcile(int slots_fd, const struct kt_kvm *vms, size_t nr,
		 const struct kt_opts *o, struct kt_reconciled *rec)
{
	size_t i, j;

	for (i = 0; i < nr; i++) {
		if (!kt_pid_wanted(o, vms[i].pid) &&
		    !(vms[i].tgid && kt_pid_wanted(o, vms[i].tgid)))
			continue;
		for (j = 0; j < vms[i].nr_slots; j++) {
			const struct kt_kslot *ks = &vms[i].slots[j];
			struct kt_slot_key key = { .vm = vms[i].vm, .slot = ks->slot };
			struct kt_slot val = {
				.state = KT_SLOT_LIVE,
				.flags = KT_SLOT_F_SEEDED | (ks->rw ? KT_SLOT_F_RW : 0),
				.pid = vms[i].pid,
				.hva = ks->hva,
				.npages = ks->npages,
				.ipa = ks->ipa_start,
				.size = ks->ipa_end - ks->ipa_start,
				.locked_at_ns = ks->locked_at_ns,
				.lock_duration_ns = ks->lock_duration_ns,
			};

			/*
			 * Any entry (PENDING, LIVE, TOMBSTONE) means events
			 * after attach describe the slot better than this
			 * snapshot: never overwrite it.
			 */
			if (!bpf_map_update_elem(slots_fd, &key, &val, BPF_NOEXIST))
				rec->seeded++;
			else if (errno == EEXIST)
				rec->skipped++;
			else
				return -errno;
		}
	}
	return 0;
}

int kt_reseed_vm(int slots_fd, const struct kt_kvm *k)
{
	static const struct kt_opts every = {};
	struct kt_reconciled rec = {};
	int err;

	err = delete_slots(slots_fd, &k->vm, 1, true);
	return err ? err : kt_reconcile(slots_fd, k, 1, &every, &rec);
}

#define BPF_FS_MAGIC	0xcafe4a11

/* 1 when dir has an entry besides . and .., 0 when not, or -errno */
static int dir_has_entries(const char *dir)
{
	struct dirent *de;
	int ret = 0;
	DIR *d;

	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			ret = 1;
			break;
		}
	closedir(d);
	return ret;
}

static int pin_fail(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int pin_fail(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return ret;
}

#define BUSY_FMT "%s already holds pinned maps (another kvmlock-top --pin, or an earlier --keep-pinned): remove them with rm -r %s"

int kt_pin_maps(const char *dir, const struct kt_pin *pins, size_t nr,
		bool *created, char *err, size_t errlen)
{
	char parent[PATH_MAX], path[PATH_MAX];
	struct statfs sfs;
	size_t i, done;
	char *slash;
	int ret;

	*created = false;
	if (snprintf(parent, sizeof(parent), "%s", dir) >= (int)sizeof(parent))
		return pin_fail(err, errlen, -ENAMETOOLONG, "pin directory name too long");
	/* the parent of dir: "." for "x", "/" for "/x" */
	while ((slash = strrchr(parent, '/')) && slash != parent && !slash[1])
		*slash = '\0';
	slash = strrchr(parent, '/');
	if (!slash)
		strcpy(parent, ".");
	else
		slash[slash == parent] = '\0';
	if (statfs(parent, &sfs) || sfs.f_type != BPF_FS_MAGIC)
		return pin_fail(err, errlen, -ENODEV,
				"bpffs is not mounted at %s: mount -t bpf bpf %s",
				parent, parent);
	if (!mkdir(dir, 0700)) {
		*created = true;
	} else if (errno != EEXIST) {
		ret = -errno;
		return pin_fail(err, errlen, ret, "cannot create %s: %s", dir,
				strerror(-ret));
	} else {
		ret = dir_has_entries(dir);
		if (ret < 0)
			return pin_fail(err, errlen, ret, "cannot read %s: %s", dir,
					strerror(-ret));
		if (ret)
			return pin_fail(err, errlen, -EEXIST, BUSY_FMT, dir, dir);
	}
	for (done = 0; done < nr; done++) {
		snprintf(path, sizeof(path), "%s/%s", dir, pins[done].name);
		if (bpf_obj_pin(pins[done].fd, path)) {
			ret = -errno;
			goto undo;
		}
	}
	return 0;
undo:
	if (ret == -EEXIST)
		/* another one pinned there since we looked */
		pin_fail(err, errlen, ret, BUSY_FMT, dir, dir);
	else
		pin_fail(err, errlen, ret, "cannot pin map %s at %s: %s",
			 pins[done].name, path, strerror(-ret));
	/* only our own pins: the one that failed may be someone else's */
	for (i = 0; i < done; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, pins[i].name);
		unlink(path);
	}
	if (*created)
		rmdir(dir);
	*created = false;
	return ret;
}

int kt_unpin_maps(const char *dir, const struct kt_pin *pins, size_t nr,
		  bool created)
{
	char path[PATH_MAX];
	int ret = 0;
	size_t i;

	for (i = 0; i < nr; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, pins[i].name);
		if (unlink(path) && errno != ENOENT && !ret)
			ret = -errno;
	}
	/* ENOTEMPTY: someone put something else there; leave it */
	if (created && rmdir(dir) && errno != ENOENT && errno != ENOTEMPTY && !ret)
		ret = -errno;
	return ret;
}
