/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel's side of the story: the VMs' debugfs directories
 * (/sys/kernel/debug/kvm/<pid>-<fd>/locked_memslots, locked_slots,
 * locked_pages) and the VMM processes (/proc/<pid>/{comm,status,limits}).
 * Roots are parameters so tests read fixtures.
 */
#ifndef KVMLOCK_KSTATE_H
#define KVMLOCK_KSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "report.h"

#define KT_DEBUGFS_KVM	"/sys/kernel/debug/kvm"
#define KT_PROC		"/proc"

/* One line of locked_memslots */
struct kt_kslot {
	uint32_t slot;
	bool rw;
	uint64_t ipa_start, ipa_end;	/* ipa_end exclusive */
	uint64_t npages;
	uint64_t hva;
	uint64_t locked_at_ns;
	uint64_t lock_duration_ns;
};

/* A VM directory and its locked_memslots */
struct kt_kvm {
	char dir[64];			/* <pid>-<fd> */
	uint64_t vm;
	uint32_t pid;
	uint32_t tgid;			/* the caller's to fill; 0 unknown */
	struct kt_kslot *slots;
	size_t nr_slots;
};

/* Text of a locked_memslots file. Returns 0, or -EINVAL with err set. */
int kt_parse_locked_memslots(const char *text, struct kt_kvm *k,
			     char *err, size_t errlen);
/*
 * Every VM directory of root that has a locked_memslots file, parsed.
 * A VM that goes away while being read is left out. Returns 0, or a
 * negative errno with err set (unreadable root, malformed file).
 */
int kt_list_vms(const char *root, struct kt_kvm **vms, size_t *nr,
		char *err, size_t errlen);
void kt_free_vms(struct kt_kvm *vms, size_t nr);
/*
 * One VM directory of root, parsed (k->slots malloc'd): 0, -ENOENT when
 * it is gone, or -EINVAL when it does not parse (err set either way).
 */
int kt_read_vm(const char *root, const char *dir, struct kt_kvm *k, char *err,
	       size_t errlen);

/*
 * The VM directories of the last kt_live_vms(): each one's name and inode
 * and what its locked_memslots file said of it.
 */
struct kt_vm_dir {
	char dir[64];			/* <pid>-<fd> */
	uint64_t ino;
	uint64_t vm;
	uint32_t pid;			/* the thread that created the VM */
	uint32_t tgid;			/* its process, the VMM (else pid) */
	uint64_t start;			/* the VMM's start time (see below) */
	struct kt_vmm_id id;		/* the VMM's name and cgroup */
	unsigned int mismatches;	/* the caller's: reports in a row */
};

struct kt_vm_dirs {
	struct kt_vm_dir *d;
	size_t n;
};

/*
 * The live VMs of root, into *dirs (what it held replaced). A directory
 * seen before (the same name and inode: a VMM's next VM may get the same
 * <pid>-<fd>, never the same inode) keeps its VM id, pid and tgid unread;
 * only a new one's locked_memslots is read, and its creator's Tgid and
 * that process's start time in proc_root (/proc): from then on the VMM is
 * that process, not the thread, whose pid another process may get once it
 * exits; nor is a process that gets the VMM's pid once the VMM is gone
 * (the VM lives on where its fd went). So a sample reads no file per VM,
 * each of which a VM's lock could make wait. A new directory whose file
 * does not parse is left out, to be read again next time: the return is
 * then how many were, with the first one's message in err. A negative
 * errno (unreadable root, no memory; err set) leaves *dirs unchanged.
 */
int kt_live_vms(const char *root, const char *proc_root, struct kt_vm_dirs *dirs,
		char *err, size_t errlen);
void kt_vm_dirs_free(struct kt_vm_dirs *dirs);

/* The kernel's locked_slots and locked_pages stats of one VM directory */
int kt_read_kstats(const char *root, const char *dir, uint64_t *slots,
		   uint64_t *pages);

/* VmLck of a /proc/<pid>/status text, in bytes; -ENOENT when absent */
int kt_parse_proc_status(const char *text, uint64_t *vmlck_bytes);
/* Tgid of a /proc/<pid>/status text; -ENOENT when absent */
int kt_parse_proc_tgid(const char *text, uint32_t *tgid);
/* The process (Tgid) of thread pid, 0 when it is gone */
uint32_t kt_proc_tgid(const char *proc_root, uint32_t pid);
/* starttime (field 22, clock ticks since boot) of a /proc/<pid>/stat text */
int kt_parse_proc_stat_start(const char *text, uint64_t *start);
/* The start time of process pid, 0 when it is gone or unreadable */
uint64_t kt_proc_start(const char *proc_root, uint32_t pid);
/*
 * A VMM's start time as kt_vm_dir.start has it: ticks since boot; 0 not
 * known (no check); KT_START_GONE the VMM is gone (its creating thread
 * was, at first sight, or a thread that started after the VM had its
 * pid). KT_START_SLACK_NS: how much later than the VM's debugfs
 * directory the creating thread may seem to have started (the start
 * time's clock tick).
 */
#define KT_START_GONE		UINT64_MAX
#define KT_START_SLACK_NS	20000000ULL
/*
 * The guest name of a QEMU command line (/proc/<pid>/cmdline: len bytes,
 * NUL-separated): "-name NAME" or "-name guest=NAME,..." (also --name).
 * -ENOENT when it has none.
 */
int kt_parse_qemu_name(const char *cmdline, size_t len, char *name, size_t namelen);
/*
 * The cgroup of a /proc/<pid>/cgroup text: cgroup v2's ("0::PATH"), else
 * v1's systemd hierarchy. -ENOENT when it has neither.
 */
int kt_parse_proc_cgroup(const char *text, char *path, size_t pathlen);
/* Both of process pid into id ("" each where unknown) */
void kt_read_vmm_id(const char *proc_root, uint32_t pid, struct kt_vmm_id *id);
/* "Max locked memory" soft limit of a /proc/<pid>/limits text */
int kt_parse_proc_limits(const char *text, bool *unlimited, uint64_t *bytes);
/*
 * Fills p (p->known false when the process is gone). start not 0: the
 * process with that start time (kt_vm_dir.start) only; another one with
 * the same pid is taken for gone.
 */
void kt_read_proc(const char *proc_root, uint32_t pid, uint64_t start,
		  struct kt_proc *p);

/* Reads a whole (small) file into a malloc'd string; NULL and errno set */
char *kt_read_file(const char *path);
/* The same, its length (without the NUL added) in *lenp: for NUL-separated files */
char *kt_read_file_len(const char *path, size_t *lenp);

#endif /* KVMLOCK_KSTATE_H */
