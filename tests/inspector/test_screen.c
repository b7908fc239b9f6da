// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of kvmlock-top's interactive screen, its pure part: what
 * each key does to the state, and the lines the screen would show for a
 * fixture report (order, filter, slot rows, help, width and height).
 */
#include <argp.h>
#include <curses.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "options.h"
#include "report.h"
#include "screen.h"

/* --- a report: VM 1 (pid 100), VMs 2 and 3 (pid 123) ----------------- */

static struct kt_stats_entry stats[3];
static struct kt_slot_entry slots[3];
static struct kt_live_vm vms[3];

static void make_sample(struct kt_sample *s)
{
	memset(stats, 0, sizeof(stats));
	memset(slots, 0, sizeof(slots));
	memset(vms, 0, sizeof(vms));

	stats[0].vm = 1;
	stats[0].s.locks_ok = 1;
	stats[0].s.lat_max_ns = 2000000;
	stats[0].s.lat_hist[kt_hist_bucket(2000000)] = 1;
	stats[1].vm = 2;
	stats[1].s.locks_ok = 5;
	stats[1].s.locks_failed = 2;
	stats[1].s.lat_max_ns = 1000;
	stats[1].s.lat_hist[kt_hist_bucket(1000)] = 5;
	stats[2].vm = 3;

	slots[0].key = (struct kt_slot_key){ .vm = 1, .slot = 0 };
	slots[0].val = (struct kt_slot){ .state = KT_SLOT_LIVE, .flags = KT_SLOT_F_RW,
		.npages = 256, .ipa = 0x40000000, .size = 0x100000,
		.locked_at_ns = 100, .lock_duration_ns = 2000000 };
	slots[1].key = (struct kt_slot_key){ .vm = 2, .slot = 1 };
	slots[1].val = (struct kt_slot){ .state = KT_SLOT_LIVE, .flags = KT_SLOT_F_RW,
		.npages = 64, .ipa = 0x100000000, .size = 0x40000,
		.locked_at_ns = 400, .lock_duration_ns = 1000 };
	slots[2].key = (struct kt_slot_key){ .vm = 2, .slot = 2 };
	slots[2].val = (struct kt_slot){ .state = KT_SLOT_LIVE, .npages = 16,
		.ipa = 0x180000000, .size = 0x10000, .locked_at_ns = 500,
		.lock_duration_ns = 900 };

	vms[0].vm = 1;
	vms[0].pid = 100;
	vms[0].proc.known = true;
	strcpy(vms[0].proc.comm, "qemu-a");
	vms[1].vm = 2;
	vms[1].pid = 123;
	vms[1].proc.known = true;
	strcpy(vms[1].proc.comm, "qemu-b");
	vms[1].proc.vmlck_known = true;
	vms[1].proc.vmlck_bytes = 80 * 4096;
	vms[1].proc.limit_known = true;
	vms[1].proc.limit_bytes = 160 * 4096;
	vms[2].vm = 3;
	vms[2].pid = 123;
	vms[2].proc.known = true;
	strcpy(vms[2].proc.comm, "ev\x1b[2Jil");	/* a comm is any bytes */

	memset(s, 0, sizeof(*s));
	s->stats = stats;
	s->nr_stats = 3;
	s->slots = slots;
	s->nr_slots = 3;
	s->vms = vms;
	s->nr_vms = 3;
	s->now_ns = 1000;
	s->wall.tv_sec = 1796083200;	/* 2026-12-01T00:00:00Z */
	s->interval_ns = 1000000000;
	s->events_received = 9;
}

struct fixture {
	struct kt_opts o;
	struct kt_history h;
	struct kt_report r;
	struct kt_screen_state st;
	struct kt_screen_lines l;
};

static int setup(void **state)
{
	char *argv[] = { "kvmlock-top", NULL };
	struct fixture *f = calloc(1, sizeof(*f));
	struct kt_sample smp;
	uint64_t *gone;
	size_t nr_gone;

	if (!f || kt_parse_args(1, argv, &f->o, ARGP_NO_EXIT))
		return -1;
	make_sample(&smp);
	if (kt_build_report(&f->h, &smp, &f->o, 4096, &f->r, &gone, &nr_gone))
		return -1;
	free(gone);
	kt_screen_init(&f->st, &f->o);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	kt_screen_lines_free(&f->l);
	kt_report_free(&f->r);
	kt_history_free(&f->h);
	free(f);
	return 0;
}

static void keys(struct kt_screen_state *st, const char *k)
{
	for (; *k; k++)
		kt_screen_key(st, (unsigned char)*k);
}

/* The lines for cols x rows, checked for size; returns them */
static struct kt_screen_lines *draw(struct fixture *f, int cols, int rows)
{
	size_t i;

	kt_screen_lines_free(&f->l);
	assert_int_equal(kt_screen_lines(&f->r, &f->st, cols, rows, &f->l), 0);
	assert_int_equal(f->l.n, rows);
	for (i = 0; i < f->l.n; i++) {
		if (strlen(f->l.line[i]) > (size_t)cols)
			fail_msg("%dx%d: line %zu has %zu characters: '%s'", cols, rows,
				 i, strlen(f->l.line[i]), f->l.line[i]);
		if (strpbrk(f->l.line[i], "\x1b\t\r\n"))
			fail_msg("line %zu has a control character", i);
	}
	return &f->l;
}

/* Index of the first line starting with prefix, or -1 */
static int find(const struct kt_screen_lines *l, const char *prefix)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (!strncmp(l->line[i], prefix, strlen(prefix)))
			return (int)i;
	return -1;
}

static bool contains(const struct kt_screen_lines *l, const char *s)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strstr(l->line[i], s))
			return true;
	return false;
}

/* The VM ids of the VM rows, top to bottom, as "1 2 3" */
static void vm_order(const struct kt_screen_lines *l, char *buf, size_t len)
{
	size_t i, off = 0;

	buf[0] = '\0';
	if (l->header == SIZE_MAX)
		return;
	for (i = l->header + 1; i < l->n; i++) {
		unsigned long vm;
		char *end;

		vm = strtoul(l->line[i], &end, 10);
		if (end == l->line[i] || *end != ' ')
			continue;	/* slot rows start with blanks, then text */
		if (l->line[i][0] == ' ' && l->line[i][4] == ' ')
			continue;	/* slot rows: nothing in the VM column */
		off += (size_t)snprintf(buf + off, len - off, "%s%lu", off ? " " : "", vm);
	}
}

/* --- keys ------------------------------------------------------------ */

static void test_keys(void **state)
{
	struct fixture *f = *state;
	struct kt_screen_state *st = &f->st;
	int i;

	assert_int_equal(st->sort, KT_SORT_PAGES);
	assert_int_equal(st->interval_s, 1);
	assert_int_equal(kt_screen_key(st, KT_SCREEN_NO_KEY), KT_SCREEN_NONE);
	assert_int_equal(kt_screen_key(st, 'x'), KT_SCREEN_NONE);
	assert_int_equal(kt_screen_key(st, 'q'), KT_SCREEN_QUIT);
	assert_int_equal(kt_screen_key(st, 'Q'), KT_SCREEN_QUIT);
	assert_int_equal(kt_screen_key(st, KEY_RESIZE), KT_SCREEN_REDRAW);

	/* s: every sort key, then back to the first */
	for (i = 1; i <= KT_SORT_VM; i++) {
		assert_int_equal(kt_screen_key(st, 's'), KT_SCREEN_REDRAW);
		assert_int_equal(st->sort, i);
	}
	assert_int_equal(kt_screen_key(st, 's'), KT_SCREEN_REDRAW);
	assert_int_equal(st->sort, KT_SORT_PAGES);

	assert_int_equal(kt_screen_key(st, 'r'), KT_SCREEN_REDRAW);
	assert_true(st->reverse);
	kt_screen_key(st, 'r');
	assert_false(st->reverse);
	assert_int_equal(kt_screen_key(st, 'd'), KT_SCREEN_REDRAW);
	assert_true(st->show_slots);
	kt_screen_key(st, 'd');
	assert_false(st->show_slots);

	/* - at 1 s: stays, says so; + restarts the wait */
	assert_int_equal(kt_screen_key(st, '-'), KT_SCREEN_REDRAW);
	assert_int_equal(st->interval_s, 1);
	assert_string_equal(st->status, "the interval is 1 s at least");
	assert_int_equal(kt_screen_key(st, '+'), KT_SCREEN_RESAMPLE);
	assert_int_equal(st->interval_s, 2);
	assert_string_equal(st->status, "interval 2 s");
	assert_int_equal(kt_screen_key(st, '-'), KT_SCREEN_RESAMPLE);
	assert_int_equal(st->interval_s, 1);
	st->interval_s = 3600;
	assert_int_equal(kt_screen_key(st, '+'), KT_SCREEN_REDRAW);
	assert_int_equal(st->interval_s, 3600);
	assert_string_equal(st->status, "the interval is 3600 s at most");

	assert_int_equal(kt_screen_key(st, 'z'), KT_SCREEN_ZERO);
	assert_string_equal(st->status, "counters zeroed: from the next interval on");
	kt_screen_key(st, 'x');
	assert_string_equal(st->status, "");	/* until the next key */

	assert_int_equal(kt_screen_key(st, 'h'), KT_SCREEN_REDRAW);
	assert_true(st->help);
	kt_screen_key(st, 'h');
	assert_false(st->help);
	kt_screen_key(st, '?');
	assert_true(st->help);
	assert_int_equal(kt_screen_key(st, 27), KT_SCREEN_REDRAW);
	assert_false(st->help);
	assert_int_equal(kt_screen_key(st, 27), KT_SCREEN_NONE);
}

static void test_options_start_the_state(void **state)
{
	char *argv[] = { "kvmlock-top", "-S", "-s", "lat", "-r", "2", "7", NULL };
	struct kt_screen_state st;
	struct kt_opts o;

	(void)state;
	assert_int_equal(kt_parse_args(7, argv, &o, ARGP_NO_EXIT), 0);
	kt_screen_init(&st, &o);
	assert_int_equal(st.sort, KT_SORT_LAT);
	assert_true(st.show_slots);
	assert_int_equal(st.rows, 2);
	assert_int_equal(st.interval_s, 7);
	assert_int_equal(st.pid, 0);
	assert_false(st.reverse || st.help || st.prompting);
}

static void test_prompt(void **state)
{
	struct fixture *f = *state;
	struct kt_screen_state *st = &f->st;

	assert_int_equal(kt_screen_key(st, 'p'), KT_SCREEN_REDRAW);
	assert_true(st->prompting);
	assert_int_equal(kt_screen_key(st, '1'), KT_SCREEN_REDRAW);
	assert_int_equal(kt_screen_key(st, 'x'), KT_SCREEN_NONE);
	assert_int_equal(kt_screen_key(st, 'q'), KT_SCREEN_NONE);	/* not quit */
	keys(st, "29");
	assert_string_equal(st->prompt, "129");
	assert_int_equal(kt_screen_key(st, KEY_BACKSPACE), KT_SCREEN_REDRAW);
	assert_int_equal(kt_screen_key(st, 127), KT_SCREEN_REDRAW);
	keys(st, "23");
	assert_string_equal(st->prompt, "123");
	assert_int_equal(st->pid, 0);		/* not before Enter */
	assert_int_equal(kt_screen_key(st, '\n'), KT_SCREEN_REDRAW);
	assert_false(st->prompting);
	assert_int_equal(st->pid, 123);
	assert_string_equal(st->status, "only the VMs of pid 123");

	/* Escape cancels: the filter stays */
	keys(st, "p45");
	assert_int_equal(kt_screen_key(st, 27), KT_SCREEN_REDRAW);
	assert_false(st->prompting);
	assert_int_equal(st->pid, 123);

	/* empty, or 0: every VM */
	keys(st, "p");
	assert_int_equal(kt_screen_key(st, '\r'), KT_SCREEN_REDRAW);
	assert_int_equal(st->pid, 0);
	keys(st, "p7");
	kt_screen_key(st, KEY_ENTER);
	assert_int_equal(st->pid, 7);
	keys(st, "p0\n");
	assert_int_equal(st->pid, 0);
	assert_string_equal(st->status, "every VM");

	/* Backspace on nothing; more digits than a pid has */
	keys(st, "p");
	assert_int_equal(kt_screen_key(st, KEY_BACKSPACE), KT_SCREEN_NONE);
	keys(st, "123456789");
	assert_string_equal(st->prompt, "1234567");
	keys(st, "\n");
	assert_int_equal(st->pid, 1234567);
}

/* --- lines ----------------------------------------------------------- */

static void test_lines(void **state)
{
	struct fixture *f = *state;
	const struct kt_screen_lines *l = draw(f, 80, 24);
	char order[64];

	assert_string_equal(l->line[0],
			    "kvmlock-top  2026-12-01T00:00:00.000Z  every 1s  sort pages desc");
	assert_string_equal(l->line[1], "VMs 3  slots 3  locked 1.3M  rw 1.2M  ro 64K  events 9");
	assert_string_equal(l->line[2], "locks 8/8  lfail 2/2  unlocks 0/0  ufail 0/0  acctf 0/0");
	assert_string_equal(l->line[3], "lock latency  p50 1.0us  p99 2ms  max 2ms");
	assert_int_equal(l->header, 4);
	assert_string_equal(l->line[4],
			    "   VM     PID COMM       SLOTS LOCKED  VMLCK  LIMIT  USE% LOCKS FAILS    P99");
	assert_string_equal(l->line[5],
			    "    1     100 qemu-a         1     1M      -      -     -     1     0    2ms");
	assert_string_equal(l->line[6],
			    "    2     123 qemu-b         2   320K   320K   640K  50.0     7     2    1us");
	/* the escape of the comm is not sent to the terminal */
	assert_string_equal(l->line[7],
			    "    3     123 ev?[2Jil       0     0B      -      -     -     0     0      -");
	assert_string_equal(l->line[8], "");
	assert_string_equal(l->line[23],
			    "h help  q quit  s sort  r reverse  p pid  d slots  +/- interval  z zero");
	vm_order(l, order, sizeof(order));
	assert_string_equal(order, "1 2 3");
}

static void test_lines_sort_and_reverse(void **state)
{
	struct fixture *f = *state;
	char order[64];

	keys(&f->st, "s");		/* slots */
	draw(f, 80, 24);
	assert_non_null(strstr(f->l.line[0], "sort slots desc"));
	vm_order(&f->l, order, sizeof(order));
	assert_string_equal(order, "2 1 3");
	keys(&f->st, "r");
	draw(f, 80, 24);
	assert_non_null(strstr(f->l.line[0], "sort slots asc"));
	vm_order(&f->l, order, sizeof(order));
	assert_string_equal(order, "3 1 2");
	keys(&f->st, "sssss");		/* lat, reversed: smallest p99 first */
	draw(f, 80, 24);
	assert_non_null(strstr(f->l.line[0], "sort lat asc"));
	vm_order(&f->l, order, sizeof(order));
	assert_string_equal(order, "3 2 1");
	keys(&f->st, "rs");		/* pid, ascending; ties by VM id */
	draw(f, 80, 24);
	assert_non_null(strstr(f->l.line[0], "sort pid asc"));
	vm_order(&f->l, order, sizeof(order));
	assert_string_equal(order, "1 2 3");
	keys(&f->st, "r");
	draw(f, 80, 24);
	assert_non_null(strstr(f->l.line[0], "sort pid desc"));
	vm_order(&f->l, order, sizeof(order));
	assert_string_equal(order, "3 2 1");
}

static void test_lines_pid_filter(void **state)
{
	struct fixture *f = *state;
	char order[64];

	keys(&f->st, "p12");
	draw(f, 80, 24);
	assert_string_equal(f->l.line[23], "pid: 12_");
	keys(&f->st, "3\n");
	draw(f, 80, 24);
	assert_non_null(strstr(f->l.line[0], "sort pages desc  pid 123"));
	vm_order(&f->l, order, sizeof(order));
	assert_string_equal(order, "2 3");
	assert_string_equal(f->l.line[23], "only the VMs of pid 123");
	/* the totals stay those of every VM */
	assert_non_null(strstr(f->l.line[1], "VMs 3"));

	keys(&f->st, "p999\n");
	draw(f, 80, 24);
	vm_order(&f->l, order, sizeof(order));
	assert_string_equal(order, "");
	assert_true(contains(&f->l, "no VM of pid 999 (p, Enter: every VM)"));
	keys(&f->st, "p\n");
	draw(f, 80, 24);
	vm_order(&f->l, order, sizeof(order));
	assert_string_equal(order, "1 2 3");
}

static void test_lines_slots(void **state)
{
	struct fixture *f = *state;
	int i;

	draw(f, 80, 24);
	assert_false(contains(&f->l, "IPA-START"));
	keys(&f->st, "d");
	draw(f, 80, 24);
	i = find(&f->l, "   VM     PID COMM");
	assert_int_equal(i, 4);
	assert_string_equal(f->l.line[5],
			    "       SLOT      IPA-START        IPA-END     PAGES PROT LOCKED-FOR LOCK-LAT");
	assert_int_equal(find(&f->l, "    1     100"), 6);
	assert_string_equal(f->l.line[7],
			    "          0     0x40000000     0x40100000       256   rw      900ns      2ms");
	assert_int_equal(find(&f->l, "    2     123"), 8);
	assert_string_equal(f->l.line[9],
			    "          1    0x100000000    0x100040000        64   rw      600ns      1us");
	assert_string_equal(f->l.line[10],
			    "          2    0x180000000    0x180010000        16    r      500ns    900ns");
	assert_int_equal(find(&f->l, "    3     123"), 11);
	keys(&f->st, "d");
	draw(f, 80, 24);
	assert_false(contains(&f->l, "0x40000000"));
}

static void test_help(void **state)
{
	static const char *const each[] = {
		"  q ", "  s ", "  r ", "  p ", "  d ", "  + -", "  z ", "  h ?",
	};
	struct fixture *f = *state;
	size_t i;

	keys(&f->st, "h");
	draw(f, 80, 24);
	for (i = 0; i < sizeof(each) / sizeof(each[0]); i++)
		if (find(&f->l, each[i]) < 0)
			fail_msg("the help has no line for '%s'", each[i]);
	assert_true(contains(&f->l, "Escape"));
	assert_false(contains(&f->l, "COMM"));	/* instead of the table */
	assert_int_equal(f->l.header, SIZE_MAX);
	keys(&f->st, "?");
	draw(f, 80, 24);
	assert_true(contains(&f->l, "COMM"));
}

static void test_no_report_yet(void **state)
{
	struct fixture *f = *state;
	size_t i;

	kt_screen_lines_free(&f->l);
	assert_int_equal(kt_screen_lines(NULL, &f->st, 80, 24, &f->l), 0);
	assert_int_equal(f->l.n, 24);
	assert_string_equal(f->l.line[0], "kvmlock-top  every 1s  sort pages desc");
	assert_true(contains(&f->l, "waiting for the first interval"));
	assert_int_equal(f->l.header, SIZE_MAX);
	for (i = 0; i < f->l.n; i++)
		assert_true(strlen(f->l.line[i]) <= 80);
}

/* Every size: no line too long, exactly the height, the last line last */
static void test_sizes(void **state)
{
	static const int widths[] = { 1, 20, 40, 79, 80, 132 };
	static const int heights[] = { 1, 2, 5, 9, 12, 24, 60 };
	struct fixture *f = *state;
	size_t w, h;

	keys(&f->st, "d");
	for (w = 0; w < sizeof(widths) / sizeof(widths[0]); w++)
		for (h = 0; h < sizeof(heights) / sizeof(heights[0]); h++) {
			draw(f, widths[w], heights[h]);
			assert_memory_equal(f->l.line[f->l.n - 1], "h help  q quit",
					    widths[w] < 14 ? (size_t)widths[w] : 14);
		}
	keys(&f->st, "h");
	for (h = 0; h < sizeof(heights) / sizeof(heights[0]); h++)
		draw(f, 80, heights[h]);
}

/* Rows that do not fit are cut with "... N more" */
static void test_height_cut(void **state)
{
	struct fixture *f = *state;
	char order[64];

	keys(&f->st, "d");		/* 6 body lines: 3 VMs, 3 slots */
	draw(f, 80, 13);		/* 6 on top, 6 for the body, the last */
	assert_int_equal(find(&f->l, "..."), -1);
	assert_string_equal(f->l.line[11],
			    "    3     123 ev?[2Jil       0     0B      -      -     -     0     0      -");
	draw(f, 80, 12);		/* room for 5: 4 and the cut */
	assert_string_equal(f->l.line[10], "... 2 more");
	vm_order(&f->l, order, sizeof(order));
	assert_string_equal(order, "1 2");
	assert_int_equal(find(&f->l, "h help"), 11);
	draw(f, 80, 8);			/* room for 1: only the cut */
	assert_string_equal(f->l.line[6], "... 6 more");
	draw(f, 80, 4);			/* not even the column header */
	assert_int_equal(f->l.header, SIZE_MAX);
	assert_int_equal(find(&f->l, "h help"), 3);
}

/* -r: at most that many VMs, after the filter and in the screen's order */
static void test_rows_limit(void **state)
{
	struct fixture *f = *state;
	char order[64];

	f->st.rows = 1;
	draw(f, 80, 24);
	vm_order(&f->l, order, sizeof(order));
	assert_string_equal(order, "1");
	keys(&f->st, "r");
	draw(f, 80, 24);
	vm_order(&f->l, order, sizeof(order));
	assert_string_equal(order, "3");
	keys(&f->st, "rp123\n");
	draw(f, 80, 24);
	vm_order(&f->l, order, sizeof(order));
	assert_string_equal(order, "2");
}

/* The status shows until the next key; then the hint again */
static void test_status_line(void **state)
{
	struct fixture *f = *state;

	keys(&f->st, "-");
	draw(f, 80, 24);
	assert_string_equal(f->l.line[23], "the interval is 1 s at least");
	keys(&f->st, "d");
	draw(f, 80, 24);
	assert_memory_equal(f->l.line[23], "h help", 6);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_keys),
		cmocka_unit_test(test_options_start_the_state),
		T(test_prompt),
		T(test_lines),
		T(test_lines_sort_and_reverse),
		T(test_lines_pid_filter),
		T(test_lines_slots),
		T(test_help),
		T(test_no_report_yet),
		T(test_sizes),
		T(test_height_cut),
		T(test_rows_limit),
		T(test_status_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
