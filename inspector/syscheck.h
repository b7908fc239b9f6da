/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the host has and lacks for kvmlock-top: the checks each mode makes
 * before loading anything (the first one that fails is its one-line
 * refusal), and kvmlock-top check, which lists them all.
 */
#ifndef KVMLOCK_SYSCHECK_H
#define KVMLOCK_SYSCHECK_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "options.h"

enum kt_check_id {
	KT_CHECK_PRIV,		/* root, or CAP_BPF and CAP_PERFMON */
	KT_CHECK_TRACEFS,	/* where the events are looked for first */
	KT_CHECK_BTF,		/* the kernel's: events without tracefs, arguments */
	KT_CHECK_EVENTS,	/* the 9 kvm_memslot_* trace events */
	KT_CHECK_ARGS,		/* their arguments as this build reads them */
	KT_CHECK_DEBUGFS,	/* /sys/kernel/debug/kvm: top's live VMs */
	KT_CHECK_LOAD,		/* the BPF programs load (check mode only) */
	KT_CHECK_BPFFS,		/* /sys/fs/bpf: --pin's */
	KT_NR_CHECKS,
};

enum kt_check_state {
	KT_CHECK_OK,
	KT_CHECK_NO,		/* missing: the modes of needed_by cannot run */
	KT_CHECK_SKIPPED,	/* not checked (text says why) */
};

struct kt_check {
	const char *name;
	unsigned int needed_by;	/* bit (1 << mode) for each mode it stops */
	enum kt_check_state state;
	char text[PATH_MAX + 256];
};

/*
 * Probes this host into c[KT_NR_CHECKS]. load: also load the BPF programs
 * (and unload them), when privileged; otherwise that check is skipped.
 */
void kt_probe_system(struct kt_check *c, bool load);

/* The first check that stops mode, in c's order; NULL when it can run */
const struct kt_check *kt_check_blocker(const struct kt_check *c, enum kt_mode mode);

/*
 * kvmlock-top check's output: a line per check and which modes can run,
 * or one JSON object. Returns 0 when every mode can run, else 1.
 */
int kt_render_checks(FILE *f, const struct kt_check *c, bool json,
		     const struct timespec *wall);

#endif /* KVMLOCK_SYSCHECK_H */
