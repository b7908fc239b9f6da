// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of kvmlock-top trace's formatting: each of the nine events,
 * an unknown type and the lost line, as text (seconds since start and
 * ISO 8601) and as JSON, compared with exact strings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "trace.h"

#define MONO0	1000000000000ULL	/* the tool's start, CLOCK_MONOTONIC */
#define WALL0	1714564800		/* 2024-05-01T12:00:00Z */
#define TS	(MONO0 + 1234567890ULL)	/* 1.234567890 s after the start */

struct tcase {
	struct kt_event ev;
	const char *text;
	const char *json;
};

#define EV(type_, slot_, ret_, ...) \
	{ .ts_ns = TS, .vm = 2, .pid = 59, .slot = (slot_), .type = (type_), \
	  .ret = (ret_), .a = { __VA_ARGS__ } }
#define HEAD(ev) "{\"version\":1,\"type\":\"event\",\"time\":\"2024-05-01T12:00:01.234567Z\"," \
	"\"event\":\"" ev "\",\"ts_ns\":\"1001234567890\",\"time_s\":1.234567,\"vm\":2,\"pid\":59"

static const struct tcase cases[] = {
	{ EV(KT_EV_LOCK_BEGIN, 1, 0, KT_LOCK_READ | KT_LOCK_WRITE),
	  "    1.234567 vm=2 pid=59 slot=1 lock_begin flags=R|W",
	  HEAD("lock_begin") ",\"slot\":1,\"flags\":\"R|W\"}" },
	{ EV(KT_EV_PIN, 1, 0, 0x7f996c1000ULL, 64, 1, 2, 803760),
	  "    1.234567 vm=2 pid=59 slot=1 pin hva=0x7f996c1000 npages=64 writable=1 retries=2 duration=803.760us",
	  HEAD("pin") ",\"slot\":1,\"hva\":\"0x7f996c1000\",\"npages\":64,\"writable\":true,\"retries\":2,\"duration_ns\":803760}" },
	{ EV(KT_EV_MAP, 1, 0, 0x100000000ULL, 262144, KT_PROT_R | KT_PROT_W, 339424),
	  "    1.234567 vm=2 pid=59 slot=1 map ipa=0x100000000 size=262144 prot=R|W duration=339.424us",
	  HEAD("map") ",\"slot\":1,\"ipa\":\"0x100000000\",\"size_bytes\":262144,\"prot\":\"R|W\",\"duration_ns\":339424}" },
	{ EV(KT_EV_ACCOUNT_FAIL, 2, -12, 16, 64, 72, 0),
	  "    1.234567 vm=2 pid=59 slot=2 account_fail npages=16 locked_vm=64 locked_vm_bytes=262144 limit=72 limit_bytes=294912 cap_ipc_lock=0 err=ENOMEM",
	  HEAD("account_fail") ",\"slot\":2,\"npages\":16,\"locked_vm_pages\":64,\"locked_vm_bytes\":262144,\"limit_pages\":72,\"limit_bytes\":294912,\"cap_ipc_lock\":false,\"err\":\"ENOMEM\",\"ret\":-12}" },
	{ EV(KT_EV_LOCK_END, 1, 0, KT_LOCK_READ | KT_LOCK_WRITE, 64, 2738976),
	  "    1.234567 vm=2 pid=59 slot=1 lock_end flags=R|W result=ok npages=64 duration=2738.976us",
	  HEAD("lock_end") ",\"slot\":1,\"flags\":\"R|W\",\"result\":\"ok\",\"ret\":0,\"npages\":64,\"duration_ns\":2738976}" },
	{ EV(KT_EV_LOCK_END, 3, -16, KT_LOCK_READ, 0, 1500),
	  "    1.234567 vm=2 pid=59 slot=3 lock_end flags=R result=EBUSY npages=0 duration=1.500us",
	  HEAD("lock_end") ",\"slot\":3,\"flags\":\"R\",\"result\":\"EBUSY\",\"ret\":-16,\"npages\":0,\"duration_ns\":1500}" },
	{ EV(KT_EV_UNLOCK_BEGIN, 0, 0, KT_UNLOCK_ALL),
	  "    1.234567 vm=2 pid=59 slot=0 unlock_begin all=1",
	  HEAD("unlock_begin") ",\"slot\":0,\"all\":true}" },
	{ EV(KT_EV_UNLOCK, 1, KT_REASON_UNLOCK_ALL, 64, 1, 1, 1297552),
	  "    1.234567 vm=2 pid=59 slot=1 unlock npages=64 dirtied=1 unmapped=1 reason=unlock-all duration=1297.552us",
	  HEAD("unlock") ",\"slot\":1,\"npages\":64,\"dirtied\":true,\"unmapped\":true,\"reason\":\"unlock-all\",\"duration_ns\":1297552}" },
	{ EV(KT_EV_UNLOCK, 4, KT_REASON_VM_DESTROY, 16, 0, 0, 7),
	  "    1.234567 vm=2 pid=59 slot=4 unlock npages=16 dirtied=0 unmapped=0 reason=vm-destroy duration=0.007us",
	  HEAD("unlock") ",\"slot\":4,\"npages\":16,\"dirtied\":false,\"unmapped\":false,\"reason\":\"vm-destroy\",\"duration_ns\":7}" },
	{ EV(KT_EV_UNLOCK_END, 0, 0, KT_UNLOCK_ALL, 1, 1421104),
	  "    1.234567 vm=2 pid=59 slot=0 unlock_end all=1 nr_slots=1 result=ok duration=1421.104us",
	  HEAD("unlock_end") ",\"slot\":0,\"all\":true,\"nr_slots\":1,\"result\":\"ok\",\"ret\":0,\"duration_ns\":1421104}" },
	{ EV(KT_EV_UNLOCK_END, 5, -22, 0, 0, 900),
	  "    1.234567 vm=2 pid=59 slot=5 unlock_end all=0 nr_slots=0 result=EINVAL duration=0.900us",
	  HEAD("unlock_end") ",\"slot\":5,\"all\":false,\"nr_slots\":0,\"result\":\"EINVAL\",\"ret\":-22,\"duration_ns\":900}" },
	{ EV(KT_EV_DEFERRED_OPS, 0, 0, KT_OPS_FIRST_RUN | KT_OPS_CLEAN_DCACHE, 1, 64, 38352),
	  "    1.234567 vm=2 pid=59 slot=- deferred_ops ops=first-run|clean-dcache nr_slots=1 npages=64 duration=38.352us",
	  HEAD("deferred_ops") ",\"ops\":\"first-run|clean-dcache\",\"nr_slots\":1,\"npages\":64,\"duration_ns\":38352}" },
	{ EV(KT_EV_DEFERRED_OPS, 0, 0, KT_OPS_INVAL_ICACHE | KT_OPS_CLEAR_TAGS | 0x30, 2, 80, 1000000),
	  "    1.234567 vm=2 pid=59 slot=- deferred_ops ops=inval-icache|clear-tags|0x30 nr_slots=2 npages=80 duration=1000.000us",
	  HEAD("deferred_ops") ",\"ops\":\"inval-icache|clear-tags|0x30\",\"nr_slots\":2,\"npages\":80,\"duration_ns\":1000000}" },
	/* an errno the table lacks, an unknown reason, an event we do not know */
	{ EV(KT_EV_LOCK_END, 1, -200, 0, 0, 0),
	  "    1.234567 vm=2 pid=59 slot=1 lock_end flags=0x0 result=-200 npages=0 duration=0.000us",
	  HEAD("lock_end") ",\"slot\":1,\"flags\":\"0x0\",\"result\":\"-200\",\"ret\":-200,\"npages\":0,\"duration_ns\":0}" },
	{ EV(KT_EV_UNLOCK, 1, 9, 1, 0, 0, 1),
	  "    1.234567 vm=2 pid=59 slot=1 unlock npages=1 dirtied=0 unmapped=0 reason=9 duration=0.001us",
	  HEAD("unlock") ",\"slot\":1,\"npages\":1,\"dirtied\":false,\"unmapped\":false,\"reason\":\"9\",\"duration_ns\":1}" },
	{ EV(KT_EV_MAX, 1, 0, 0),
	  "    1.234567 vm=2 pid=59 slot=1 unknown type=10",
	  HEAD("unknown") ",\"slot\":1,\"type\":10}" },
};

static char *render(const struct kt_event *ev, bool json, bool wall, bool lost)
{
	struct kt_trace_fmt t = {
		.mono0_ns = MONO0, .wall0 = { .tv_sec = WALL0 },
		.wall_clock = wall, .json = json, .page_size = 4096,
	};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	if (lost)
		kt_trace_print_lost(f, 3, &t);
	else
		kt_trace_print(f, ev, &t);
	fclose(f);
	/* exactly one line each */
	assert_true(len > 0 && buf[len - 1] == '\n');
	assert_null(memchr(buf, '\n', len - 1));
	buf[len - 1] = '\0';
	return buf;
}

static void test_text(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *s = render(&cases[i].ev, false, false, false);

		assert_string_equal(s, cases[i].text);
		free(s);
	}
}

static void test_json(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *s = render(&cases[i].ev, true, false, false);

		assert_string_equal(s, cases[i].json);
		free(s);
	}
}

/* Every one of the nine events has a case, text and JSON */
static void test_all_nine(void **state)
{
	unsigned int seen = 0;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		seen |= 1u << cases[i].ev.type;
	for (i = KT_EV_LOCK_BEGIN; i < KT_EV_MAX; i++) {
		assert_true(seen & (1u << i));
		assert_non_null(kt_event_name((uint32_t)i));
	}
}

static void test_wall_clock(void **state)
{
	struct kt_event ev = EV(KT_EV_UNLOCK_BEGIN, 0, 0, 0);
	char *s;

	(void)state;
	s = render(&ev, false, true, false);
	assert_string_equal(s, "2024-05-01T12:00:01.234567Z vm=2 pid=59 slot=0 unlock_begin all=0");
	free(s);
	s = render(&ev, true, true, false);
	assert_string_equal(s, HEAD("unlock_begin") ",\"slot\":0,\"all\":false}");
	free(s);
	/* an event from before the start: time_s is 0, the wall clock exact */
	ev.ts_ns = MONO0 - 500000000ULL;
	s = render(&ev, false, true, false);
	assert_string_equal(s, "2024-05-01T11:59:59.500000Z vm=2 pid=59 slot=0 unlock_begin all=0");
	free(s);
	s = render(&ev, false, false, false);
	assert_string_equal(s, "    0.000000 vm=2 pid=59 slot=0 unlock_begin all=0");
	free(s);
}

/*
 * --min-latency: only the ends of the LOCKs and UNLOCKs that took that
 * long; without it, every event.
 */
static void test_min_latency(void **state)
{
	static const struct kt_event fast_lock = EV(KT_EV_LOCK_END, 1, 0, 1, 64, 999999);
	static const struct kt_event slow_lock = EV(KT_EV_LOCK_END, 1, -12, 1, 0, 1000000);
	static const struct kt_event slow_unlock = EV(KT_EV_UNLOCK_END, 0, 0, 1, 3, 5000000);
	static const struct kt_event fast_unlock = EV(KT_EV_UNLOCK_END, 0, 0, 1, 3, 10);
	/* a pin that took long: only whole operations count */
	static const struct kt_event pin = EV(KT_EV_PIN, 1, 0, 0x1000, 64, 1, 0, 9000000);
	struct kt_trace_fmt t = { .min_latency_ns = 1000000 };
	size_t i;

	(void)state;
	assert_false(kt_trace_wanted(&fast_lock, &t));
	assert_true(kt_trace_wanted(&slow_lock, &t));
	assert_true(kt_trace_wanted(&slow_unlock, &t));
	assert_false(kt_trace_wanted(&fast_unlock, &t));
	assert_false(kt_trace_wanted(&pin, &t));
	t.min_latency_ns = 0;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_true(kt_trace_wanted(&cases[i].ev, &t));
}

static void test_lost(void **state)
{
	char *s;

	(void)state;
	s = render(NULL, false, false, true);
	assert_string_equal(s, "LOST 3 events");
	free(s);
	s = render(NULL, true, false, true);
	assert_true(!strncmp(s, "{\"version\":1,\"type\":\"lost\",\"time\":\"", 35));
	assert_string_equal(s + 35 + 24, "\",\"event\":\"lost\",\"count\":3}");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_all_nine),
		cmocka_unit_test(test_wall_clock),
		cmocka_unit_test(test_min_latency),
		cmocka_unit_test(test_lost),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
