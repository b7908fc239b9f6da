// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of kvmlock-top hist: interval diffs of the per-VM log2
 * histograms, and their rendering, text (biolatency's print_log2_hist:
 * bounds, 40-character bars scaled to the largest count, the last
 * non-empty slot) and JSON, compared with exact strings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hist.h"

static char *buf;
static size_t len;

static FILE *out(void)
{
	FILE *f;

	free(buf);
	buf = NULL;
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	return f;
}

static void test_log2_hist(void **state)
{
	uint64_t vals[KT_LOG2_SLOTS] = { 1, 0, 10, 80, 7 };
	FILE *f = out();

	(void)state;
	kt_print_log2_hist(f, vals, KT_LOG2_SLOTS, "usecs");
	fclose(f);
	assert_string_equal(buf,
	"     usecs               : count    distribution\n"
	"         0 -> 1          : 1        |                                        |\n"
	"         2 -> 3          : 0        |                                        |\n"
	"         4 -> 7          : 10       |*****                                   |\n"
	"         8 -> 15         : 80       |****************************************|\n"
	"        16 -> 31         : 7        |***                                     |\n");
}

static void test_log2_hist_empty(void **state)
{
	uint64_t vals[KT_LOG2_SLOTS] = {};
	FILE *f = out();

	(void)state;
	kt_print_log2_hist(f, vals, KT_LOG2_SLOTS, "usecs");
	fclose(f);
	assert_string_equal(buf, "");
}

/*
 * Two dumps: VM 2's lock slot grew by 2 (its unlocks did not), VM 5 is
 * new with an unlock, VM 9 did nothing in the interval.
 */
static struct kt_stats_entry prev[2], cur[3];

static void fixture(void)
{
	memset(prev, 0, sizeof(prev));
	memset(cur, 0, sizeof(cur));
	prev[0].vm = 2, prev[0].s.pid = 59;
	prev[0].s.lock_ms[1] = 3, prev[0].s.lock_us[11] = 3;
	prev[0].s.unlock_ms[0] = 4, prev[0].s.unlock_us[3] = 4;
	prev[1].vm = 9, prev[1].s.pid = 90;
	prev[1].s.lock_ms[0] = 6, prev[1].s.lock_us[2] = 6;
	/* unordered: the output is by vm id */
	cur[0].vm = 5, cur[0].s.pid = 77;
	cur[0].s.unlock_ms[3] = 1, cur[0].s.unlock_us[13] = 1;
	cur[1] = prev[1];
	cur[2] = prev[0];
	cur[2].s.lock_ms[1] = 5, cur[2].s.lock_us[11] = 5;
}

static void test_build(void **state)
{
	struct kt_hist_vm *v;
	size_t n;

	(void)state;
	fixture();
	assert_int_equal(kt_hist_build(cur, 3, prev, 2, false, false, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(v[0].vm, 2);
	assert_int_equal(v[0].pid, 59);
	assert_int_equal(v[0].lock[11], 2);
	assert_int_equal(v[0].unlock[3], 0);
	assert_int_equal(v[1].vm, 5);
	assert_int_equal(v[1].unlock[13], 1);
	free(v);
	/* the first interval: everything since start, VM 9 included */
	assert_int_equal(kt_hist_build(cur, 3, NULL, 0, true, false, &v, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(v[2].vm, 9);
	assert_int_equal(v[2].lock[0], 6);
	free(v);
	/* -A: one entry, the sum; there even with nothing in it */
	assert_int_equal(kt_hist_build(cur, 3, cur, 3, true, true, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].lock[0] + v[0].lock[1] + v[0].unlock[0] + v[0].unlock[3], 0);
	free(v);
	assert_int_equal(kt_hist_build(NULL, 0, NULL, 0, false, true, &v, &n), 0);
	assert_int_equal(n, 1);
	free(v);
}

static void test_text_msecs(void **state)
{
	struct kt_hist_vm *v;
	size_t n;
	FILE *f;

	(void)state;
	fixture();
	assert_int_equal(kt_hist_build(cur, 3, prev, 2, true, false, &v, &n), 0);
	strcpy(v[0].comm, "lock\x1b[2J\ntest");	/* printable ASCII only */
	f = out();
	kt_hist_render_text(f, v, n, false, true, 0);
	fclose(f);
	assert_string_equal(buf,
	"\n"
	"vm = 2 pid = 59 lock?[2J?test\n"
	"lock latency:\n"
	"     msecs               : count    distribution\n"
	"         0 -> 1          : 0        |                                        |\n"
	"         2 -> 3          : 2        |****************************************|\n"
	"unlock latency: none\n"
	"\n"
	"vm = 5 pid = 77 ?\n"
	"lock latency: none\n"
	"unlock latency:\n"
	"     msecs               : count    distribution\n"
	"         0 -> 1          : 0        |                                        |\n"
	"         2 -> 3          : 0        |                                        |\n"
	"         4 -> 7          : 0        |                                        |\n"
	"         8 -> 15         : 1        |****************************************|\n");
	free(v);
}

static void test_text_empty(void **state)
{
	struct kt_hist_vm *v;
	size_t n;
	FILE *f;

	(void)state;
	fixture();
	assert_int_equal(kt_hist_build(cur, 3, cur, 3, false, false, &v, &n), 0);
	f = out();
	kt_hist_render_text(f, v, n, false, false, 0);
	fclose(f);
	assert_string_equal(buf, "\nno lock or unlock\n");
	free(v);
	assert_int_equal(kt_hist_build(cur, 3, cur, 3, false, true, &v, &n), 0);
	f = out();
	kt_hist_render_text(f, v, n, true, false, 2);
	fclose(f);
	assert_string_equal(buf, "\nlock latency: none\nunlock latency: none\n"
			    "\nWARNING: 2 BPF map updates lost (a map was full): these counts are low\n");
	free(v);
}

static void test_json(void **state)
{
	struct timespec wall = { .tv_sec = 1714564800 };	/* 2024-05-01T12:00:00Z */
	struct kt_hist_vm *v;
	size_t n;
	FILE *f;

	(void)state;
	fixture();
	assert_int_equal(kt_hist_build(cur, 3, prev, 2, true, false, &v, &n), 0);
	strcpy(v[0].comm, "qemu \"a\"");
	f = out();
	kt_hist_render_json(f, v, n, false, true, &wall, 0);
	fclose(f);
	/* the same keys in msecs as in usecs; "all" sums the VMs */
	assert_string_equal(buf,
	"{\"version\":1,\"type\":\"hist\",\"time\":\"2024-05-01T12:00:00.000Z\",\"unit\":\"msecs\",\"map_update_errors\":0,"
	"\"all\":{\"lock\":[{\"low\":0,\"high\":1,\"count\":0},{\"low\":2,\"high\":3,\"count\":2}],"
	"\"unlock\":[{\"low\":0,\"high\":1,\"count\":0},{\"low\":2,\"high\":3,\"count\":0},"
	"{\"low\":4,\"high\":7,\"count\":0},{\"low\":8,\"high\":15,\"count\":1}]},\"vms\":["
	"{\"vm\":2,\"pid\":59,\"comm\":\"qemu \\\"a\\\"\","
	"\"lock\":[{\"low\":0,\"high\":1,\"count\":0},{\"low\":2,\"high\":3,\"count\":2}],"
	"\"unlock\":[]},"
	"{\"vm\":5,\"pid\":77,\"comm\":null,\"lock\":[],"
	"\"unlock\":[{\"low\":0,\"high\":1,\"count\":0},{\"low\":2,\"high\":3,\"count\":0},"
	"{\"low\":4,\"high\":7,\"count\":0},{\"low\":8,\"high\":15,\"count\":1}]}]}\n");
	free(v);

	/* -A, usecs: the sum of the interval in "all"; vms null (not kept) */
	assert_int_equal(kt_hist_build(cur, 3, prev, 2, false, true, &v, &n), 0);
	v[0].lock[11] = 0, v[0].lock[1] = 3;	/* keep the line short */
	v[0].unlock[13] = 0;
	f = out();
	kt_hist_render_json(f, v, n, true, false, &wall, 3);
	fclose(f);
	assert_string_equal(buf,
	"{\"version\":1,\"type\":\"hist\",\"time\":\"2024-05-01T12:00:00.000Z\",\"unit\":\"usecs\",\"map_update_errors\":3,\"all\":{"
	"\"lock\":[{\"low\":0,\"high\":1,\"count\":0},{\"low\":2,\"high\":3,\"count\":3}],"
	"\"unlock\":[]},\"vms\":null}\n");
	free(v);
	free(buf);
	buf = NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log2_hist),
		cmocka_unit_test(test_log2_hist_empty),
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_text_msecs),
		cmocka_unit_test(test_text_empty),
		cmocka_unit_test(test_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
