// SPDX-License-Identifier: GPL-2.0
/*
 * kvmlock-top trace: the formatting of one event. Each field is written
 * once through a small emitter that knows both outputs: text gets
 * name=value as ftrace prints the event, JSON a stable name carrying its
 * unit (_ns, _bytes, _pages), so the two cannot drift apart.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "report.h"
#include "trace.h"

#define NSEC	((uint64_t)1000000000)

struct flag_name {
	uint64_t bit;
	const char *name;
};

static const struct flag_name lock_flags[] = {
	{ KT_LOCK_READ, "R" }, { KT_LOCK_WRITE, "W" }, {},
};

/* The kernel's order (trace_arm.h): R, W, X */
static const struct flag_name prot_flags[] = {
	{ KT_PROT_R, "R" }, { KT_PROT_W, "W" }, { KT_PROT_X, "X" }, {},
};

static const struct flag_name ops_flags[] = {
	{ KT_OPS_FIRST_RUN, "first-run" }, { KT_OPS_CLEAN_DCACHE, "clean-dcache" },
	{ KT_OPS_INVAL_ICACHE, "inval-icache" }, { KT_OPS_CLEAR_TAGS, "clear-tags" },
	{},
};

static const char *const event_names[KT_EV_MAX] = {
	[KT_EV_LOCK_BEGIN] = "lock_begin",
	[KT_EV_PIN] = "pin",
	[KT_EV_MAP] = "map",
	[KT_EV_ACCOUNT_FAIL] = "account_fail",
	[KT_EV_LOCK_END] = "lock_end",
	[KT_EV_UNLOCK_BEGIN] = "unlock_begin",
	[KT_EV_UNLOCK] = "unlock",
	[KT_EV_UNLOCK_END] = "unlock_end",
	[KT_EV_DEFERRED_OPS] = "deferred_ops",
};

const char *kt_event_name(uint32_t type)
{
	return type < KT_EV_MAX && event_names[type] ? event_names[type] : NULL;
}

const char *kt_errno_name(int ret, char *buf, size_t len)
{
	static const struct {
		int err;
		const char *name;
	} names[] = {
		{ EPERM, "EPERM" }, { ENOENT, "ENOENT" }, { EINTR, "EINTR" },
		{ EIO, "EIO" }, { E2BIG, "E2BIG" }, { EAGAIN, "EAGAIN" },
		{ ENOMEM, "ENOMEM" }, { EFAULT, "EFAULT" }, { EBUSY, "EBUSY" },
		{ EEXIST, "EEXIST" }, { EINVAL, "EINVAL" }, { ENOSPC, "ENOSPC" },
		{ ERANGE, "ERANGE" }, { EOPNOTSUPP, "EOPNOTSUPP" },
		{ EOVERFLOW, "EOVERFLOW" },
		{ 524, "ENOTSUPP" },	/* kernel-internal, not in errno.h */
	};
	size_t i;

	if (!ret)
		return "ok";
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (-ret == names[i].err)
			return names[i].name;
	snprintf(buf, len, "%d", ret);
	return buf;
}

/* "R|W"; bits without a name as a hex rest; "0" for none */
static const char *flags_str(char *buf, size_t len, uint64_t v,
			     const struct flag_name *names)
{
	size_t off = 0;

	buf[0] = '\0';
	for (; names->name; names++) {
		if (!(v & names->bit))
			continue;
		off += snprintf(buf + off, off < len ? len - off : 0, "%s%s",
				off ? "|" : "", names->name);
		v &= ~names->bit;
	}
	if (v || !off)
		snprintf(buf + off, off < len ? len - off : 0, "%s0x%" PRIx64,
			 off ? "|" : "", v);
	return buf;
}

struct emit {
	FILE *f;
	bool json;
};

/* tname: the text's name; jname: the JSON's */
static void e_u64(struct emit *e, const char *tname, const char *jname, uint64_t v)
{
	if (e->json)
		fprintf(e->f, ",\"%s\":%" PRIu64, jname, v);
	else
		fprintf(e->f, " %s=%" PRIu64, tname, v);
}

static void e_s64(struct emit *e, const char *jname, int64_t v)
{
	/* the raw -errno: JSON only, text shows its name */
	if (e->json)
		fprintf(e->f, ",\"%s\":%" PRId64, jname, v);
}

/* Addresses as strings in JSON: above 2^53 a double loses them */
static void e_hex(struct emit *e, const char *name, uint64_t v)
{
	if (e->json)
		fprintf(e->f, ",\"%s\":\"0x%" PRIx64 "\"", name, v);
	else
		fprintf(e->f, " %s=0x%" PRIx64, name, v);
}

static void e_bool(struct emit *e, const char *name, uint64_t v)
{
	if (e->json)
		fprintf(e->f, ",\"%s\":%s", name, v ? "true" : "false");
	else
		fprintf(e->f, " %s=%d", name, !!v);
}

/* Strings are our own tokens: nothing to escape */
static void e_str(struct emit *e, const char *name, const char *s)
{
	if (e->json)
		fprintf(e->f, ",\"%s\":\"%s\"", name, s);
	else
		fprintf(e->f, " %s=%s", name, s);
}

/* Text in microseconds to the nanosecond; JSON in ns */
static void e_dur(struct emit *e, uint64_t ns)
{
	if (e->json)
		fprintf(e->f, ",\"duration_ns\":%" PRIu64, ns);
	else
		fprintf(e->f, " duration=%" PRIu64 ".%03" PRIu64 "us",
			ns / 1000, ns % 1000);
}

static uint64_t mul_sat(uint64_t a, uint64_t b)
{
	return b && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

/* 2024-05-01T12:34:56.123456Z: the event's time on CLOCK_REALTIME */
static void iso_time(char *buf, size_t len, uint64_t ts_ns, const struct kt_trace_fmt *t)
{
	int64_t ns = (int64_t)t->wall0.tv_sec * 1000000000LL + t->wall0.tv_nsec +
		     (int64_t)(ts_ns - t->mono0_ns);
	time_t sec = (time_t)(ns / 1000000000LL);
	struct tm tm;
	size_t n;

	gmtime_r(&sec, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%06ldZ", (long)(ns % 1000000000LL / 1000));
}

void kt_trace_print(FILE *f, const struct kt_event *ev, const struct kt_trace_fmt *t)
{
	struct emit e = { f, t->json };
	const char *name = kt_event_name(ev->type);
	uint64_t rel = ev->ts_ns > t->mono0_ns ? ev->ts_ns - t->mono0_ns : 0;
	const uint64_t *a = ev->a;
	char iso[40], fl[96], eb[16];

	if (t->wall_clock || t->json)
		iso_time(iso, sizeof(iso), ev->ts_ns, t);
	if (t->json) {
		kt_json_open(f, "event", iso);
		/* a string: CLOCK_MONOTONIC ns pass 2^53 after 104 days up */
		fprintf(f, ",\"event\":\"%s\",\"ts_ns\":\"%" PRIu64 "\",\"time_s\":%" PRIu64
			".%06" PRIu64, name ? name : "unknown", ev->ts_ns,
			rel / NSEC, rel % NSEC / 1000);
		fprintf(f, ",\"vm\":%" PRIu64 ",\"pid\":%" PRIu32, ev->vm, ev->pid);
		/* deferred_ops covers every locked memslot: no slot */
		if (ev->type != KT_EV_DEFERRED_OPS)
			fprintf(f, ",\"slot\":%" PRIu32, ev->slot);
	} else {
		if (t->wall_clock)
			fputs(iso, f);
		else
			fprintf(f, "%5" PRIu64 ".%06" PRIu64, rel / NSEC,
				rel % NSEC / 1000);
		fprintf(f, " vm=%" PRIu64 " pid=%" PRIu32, ev->vm, ev->pid);
		if (ev->type != KT_EV_DEFERRED_OPS)
			fprintf(f, " slot=%" PRIu32, ev->slot);
		else
			fputs(" slot=-", f);
		fprintf(f, " %s", name ? name : "unknown");
	}

	switch (ev->type) {
	case KT_EV_LOCK_BEGIN:
		e_str(&e, "flags", flags_str(fl, sizeof(fl), a[0], lock_flags));
		break;
	case KT_EV_PIN:
		e_hex(&e, "hva", a[0]);
		e_u64(&e, "npages", "npages", a[1]);
		e_bool(&e, "writable", a[2]);
		e_u64(&e, "retries", "retries", a[3]);
		e_dur(&e, a[4]);
		break;
	case KT_EV_MAP:
		e_hex(&e, "ipa", a[0]);
		e_u64(&e, "size", "size_bytes", a[1]);
		e_str(&e, "prot", flags_str(fl, sizeof(fl), a[2], prot_flags));
		e_dur(&e, a[3]);
		break;
	case KT_EV_ACCOUNT_FAIL:
		e_u64(&e, "npages", "npages", a[0]);
		e_u64(&e, "locked_vm", "locked_vm_pages", a[1]);
		e_u64(&e, "locked_vm_bytes", "locked_vm_bytes", mul_sat(a[1], t->page_size));
		e_u64(&e, "limit", "limit_pages", a[2]);
		e_u64(&e, "limit_bytes", "limit_bytes", mul_sat(a[2], t->page_size));
		e_bool(&e, "cap_ipc_lock", a[3]);
		e_str(&e, "err", kt_errno_name(ev->ret, eb, sizeof(eb)));
		e_s64(&e, "ret", ev->ret);
		break;
	case KT_EV_LOCK_END:
		e_str(&e, "flags", flags_str(fl, sizeof(fl), a[0], lock_flags));
		e_str(&e, "result", kt_errno_name(ev->ret, eb, sizeof(eb)));
		e_s64(&e, "ret", ev->ret);
		e_u64(&e, "npages", "npages", a[1]);
		e_dur(&e, a[2]);
		break;
	case KT_EV_UNLOCK_BEGIN:
		e_bool(&e, "all", a[0] & KT_UNLOCK_ALL);
		break;
	case KT_EV_UNLOCK: {
		/* the BPF side passes the reason in ret */
		static const char *const reasons[] = {
			[KT_REASON_UNLOCK] = "unlock",
			[KT_REASON_UNLOCK_ALL] = "unlock-all",
			[KT_REASON_VM_DESTROY] = "vm-destroy",
		};

		e_u64(&e, "npages", "npages", a[0]);
		e_bool(&e, "dirtied", a[1]);
		e_bool(&e, "unmapped", a[2]);
		if (ev->ret >= 0 && ev->ret <= KT_REASON_VM_DESTROY) {
			e_str(&e, "reason", reasons[ev->ret]);
		} else {
			snprintf(eb, sizeof(eb), "%d", ev->ret);
			e_str(&e, "reason", eb);
		}
		e_dur(&e, a[3]);
		break;
	}
	case KT_EV_UNLOCK_END:
		e_bool(&e, "all", a[0] & KT_UNLOCK_ALL);
		e_u64(&e, "nr_slots", "nr_slots", a[1]);
		e_str(&e, "result", kt_errno_name(ev->ret, eb, sizeof(eb)));
		e_s64(&e, "ret", ev->ret);
		e_dur(&e, a[2]);
		break;
	case KT_EV_DEFERRED_OPS:
		e_str(&e, "ops", flags_str(fl, sizeof(fl), a[0], ops_flags));
		e_u64(&e, "nr_slots", "nr_slots", a[1]);
		e_u64(&e, "npages", "npages", a[2]);
		e_dur(&e, a[3]);
		break;
	default:
		e_u64(&e, "type", "type", ev->type);
		break;
	}
	fputs(t->json ? "}\n" : "\n", f);
}

bool kt_trace_wanted(const struct kt_event *e, const struct kt_trace_fmt *t)
{
	if (!t->min_latency_ns)
		return true;
	/* lock_end's and unlock_end's duration: their third argument */
	return (e->type == KT_EV_LOCK_END || e->type == KT_EV_UNLOCK_END) &&
	       e->a[2] >= t->min_latency_ns;
}

void kt_trace_print_lost(FILE *f, uint64_t n, const struct kt_trace_fmt *t)
{
	struct timespec now;
	char iso[40];

	if (t->json) {
		clock_gettime(CLOCK_REALTIME, &now);
		kt_fmt_iso(iso, sizeof(iso), &now);
		kt_json_open(f, "lost", iso);
		fprintf(f, ",\"event\":\"lost\",\"count\":%" PRIu64 "}\n", n);
		return;
	}
	fprintf(f, "LOST %" PRIu64 " events\n", n);
}
