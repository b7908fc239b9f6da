// SPDX-License-Identifier: GPL-2.0
/*
 * kvmlock-top's interactive screen: the keys and the lines (pure), then
 * the few ncurses calls that draw them. Drawing is erase(), the lines,
 * refresh(): curses sends only what changed, so nothing flickers.
 */
#include <curses.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "screen.h"

#define KEY_ESC		27
#define NR_SORT		(KT_SORT_VM + 1)	/* the last of enum kt_sort */

void kt_screen_init(struct kt_screen_state *st, const struct kt_opts *o)
{
	memset(st, 0, sizeof(*st));
	st->sort = o->sort;
	st->show_slots = o->slots;
	st->interval_s = o->interval_s;
	st->rows = o->rows;
}

/* --- keys ------------------------------------------------------------ */

static void status(struct kt_screen_state *st, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void status(struct kt_screen_state *st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(st->status, sizeof(st->status), fmt, ap);
	va_end(ap);
}

static bool is_enter(int key)
{
	return key == '\n' || key == '\r' || key == KEY_ENTER;
}

static bool is_backspace(int key)
{
	return key == KEY_BACKSPACE || key == 127 || key == 8;
}

/* p's prompt: digits, Backspace, Enter applies, Escape cancels */
static enum kt_screen_action prompt_key(struct kt_screen_state *st, int key)
{
	size_t n = strlen(st->prompt);

	if (key >= '0' && key <= '9') {
		if (n + 1 >= sizeof(st->prompt))
			return KT_SCREEN_NONE;
		st->prompt[n] = (char)key;
		st->prompt[n + 1] = '\0';
	} else if (is_backspace(key)) {
		if (!n)
			return KT_SCREEN_NONE;
		st->prompt[n - 1] = '\0';
	} else if (is_enter(key)) {
		st->prompting = false;
		st->pid = (uint32_t)strtoul(st->prompt, NULL, 10);
		if (st->pid)
			status(st, "only the VMs of pid %" PRIu32, st->pid);
		else
			status(st, "every VM");
	} else if (key == KEY_ESC) {
		st->prompting = false;
	} else if (key != KEY_RESIZE) {
		return KT_SCREEN_NONE;
	}
	return KT_SCREEN_REDRAW;
}

static enum kt_screen_action interval_key(struct kt_screen_state *st, int step)
{
	if (step > 0 && st->interval_s >= KT_SCREEN_MAX_INTERVAL) {
		status(st, "the interval is %d s at most", KT_SCREEN_MAX_INTERVAL);
		return KT_SCREEN_REDRAW;
	}
	if (step < 0 && st->interval_s <= KT_SCREEN_MIN_INTERVAL) {
		st->interval_s = KT_SCREEN_MIN_INTERVAL;
		status(st, "the interval is %d s at least", KT_SCREEN_MIN_INTERVAL);
		return KT_SCREEN_REDRAW;
	}
	st->interval_s = step > 0 ? st->interval_s + 1 : st->interval_s - 1;
	status(st, "interval %" PRIu64 " s", st->interval_s);
	return KT_SCREEN_RESAMPLE;
}

enum kt_screen_action kt_screen_key(struct kt_screen_state *st, int key)
{
	if (key == KT_SCREEN_NO_KEY)
		return KT_SCREEN_NONE;
	st->status[0] = '\0';
	if (st->prompting)
		return prompt_key(st, key);
	switch (key) {
	case 'q':
	case 'Q':
		return KT_SCREEN_QUIT;
	case 's':
		st->sort = (enum kt_sort)((st->sort + 1) % NR_SORT);
		break;
	case 'r':
		st->reverse = !st->reverse;
		break;
	case 'p':
		st->prompting = true;
		st->prompt[0] = '\0';
		break;
	case 'd':
		st->show_slots = !st->show_slots;
		break;
	case '+':
		return interval_key(st, 1);
	case '-':
		return interval_key(st, -1);
	case 'z':
		status(st, "counters zeroed: from the next interval on");
		return KT_SCREEN_ZERO;
	case 'h':
	case '?':
		st->help = !st->help;
		break;
	case KEY_ESC:
		if (!st->help)
			return KT_SCREEN_NONE;
		st->help = false;
		break;
	case KEY_RESIZE:
		break;
	default:
		return KT_SCREEN_NONE;
	}
	return KT_SCREEN_REDRAW;
}

/* --- lines ----------------------------------------------------------- */

/* A growing list of lines, cut to the width, errors kept for the end */
struct lines {
	char **line;
	size_t n, cap;
	int cols;
	int err;
};

static void add_line(struct lines *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void add_line(struct lines *l, const char *fmt, ...)
{
	char buf[256], *s, **n;
	size_t len;
	va_list ap;

	if (l->err)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	len = strlen(buf);
	if (len > (size_t)l->cols)
		len = (size_t)l->cols;
	while (len && buf[len - 1] == ' ')
		len--;
	/* a comm in it: nothing a terminal would act on */
	kt_printable(buf, len);
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 32;
		n = realloc(l->line, l->cap * sizeof(*n));
		if (!n) {
			l->err = -ENOMEM;
			return;
		}
		l->line = n;
	}
	s = strndup(buf, len);
	if (!s) {
		l->err = -ENOMEM;
		return;
	}
	l->line[l->n++] = s;
}

static void free_lines(struct lines *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->line[i]);
	free(l->line);
	memset(l, 0, sizeof(*l));
}

const char *kt_screen_sort_label(const struct kt_screen_state *st, char *buf,
				 size_t len)
{
	bool asc = st->sort == KT_SORT_PID || st->sort == KT_SORT_VM;

	snprintf(buf, len, "%s %s", kt_sort_names[st->sort],
		 asc != st->reverse ? "asc" : "desc");
	return buf;
}

static void header(struct lines *l, const struct kt_report *r,
		   const struct kt_screen_state *st)
{
	char ts[64] = "", sort[32], pid[24] = "";

	if (r) {
		kt_fmt_iso(ts + 2, sizeof(ts) - 2, &r->wall);
		memcpy(ts, "  ", 2);
	}
	if (st->pid)
		snprintf(pid, sizeof(pid), "  pid %" PRIu32, st->pid);
	add_line(l, "kvmlock-top%s  every %" PRIu64 "s  sort %s%s", ts,
		 st->interval_s, kt_screen_sort_label(st, sort, sizeof(sort)), pid);
}

static void help(struct lines *l)
{
	static const char *const text[] = {
		"",
		"Keys",
		"  q      quit",
		"  s      next sort key: pages slots memlock pct locks fails lat pid vm",
		"  r      reverse the order",
		"  p      only one VMM's VMs: type its pid, Enter (empty or 0: every VM),",
		"         Escape to cancel",
		"  d      a row per locked memslot under its VM, or not",
		"  + -    interval one second longer or shorter (1 to 3600 s)",
		"  z      zero the counters: totals count from now, the interval restarts",
		"  h ?    this help, or the table again (also Escape)",
		"",
		"LOCKS and P99 are of the interval; FAILS (failed locks, RLIMIT_MEMLOCK",
		"refusals among them) and the totals' second figures are since start or z.",
	};
	size_t i;

	for (i = 0; i < sizeof(text) / sizeof(text[0]); i++)
		add_line(l, "%s", text[i]);
}

static void fmt_pair(char *buf, size_t len, uint64_t a, uint64_t b)
{
	snprintf(buf, len, "%" PRIu64 "/%" PRIu64, a, b);
}

static void totals(struct lines *l, const struct kt_report *r)
{
	const struct kt_agg *iv = &r->totals.iv, *cum = &r->totals.shown;
	char a[16], b[16], c[16], locks[24], lfail[24], unl[24], ufail[24], acct[24];
	uint64_t ps = r->page_size;
	char *notes = NULL, *line, *save;
	size_t len;
	FILE *f;

	kt_fmt_bytes(a, sizeof(a), r->totals.locked_pages * ps);
	kt_fmt_bytes(b, sizeof(b), r->totals.rw_pages * ps);
	kt_fmt_bytes(c, sizeof(c), r->totals.ro_pages * ps);
	add_line(l, "VMs %zu  slots %" PRIu64 "  locked %s  rw %s  ro %s  events %" PRIu64,
		 r->nr_vms, r->totals.locked_slots, a, b, c, r->events_received);
	fmt_pair(locks, sizeof(locks), iv->locks_ok + iv->locks_failed,
		 cum->locks_ok + cum->locks_failed);
	fmt_pair(lfail, sizeof(lfail), iv->locks_failed, cum->locks_failed);
	fmt_pair(unl, sizeof(unl), iv->unlocks, cum->unlocks);
	fmt_pair(ufail, sizeof(ufail), iv->unlocks_failed, cum->unlocks_failed);
	fmt_pair(acct, sizeof(acct), iv->account_failures, cum->account_failures);
	add_line(l, "locks %s  lfail %s  unlocks %s  ufail %s  acctf %s", locks,
		 lfail, unl, ufail, acct);
	if (r->totals.lat.valid) {
		kt_fmt_ns(a, sizeof(a), r->totals.lat.p50_ns);
		kt_fmt_ns(b, sizeof(b), r->totals.lat.p99_ns);
		kt_fmt_ns(c, sizeof(c), r->totals.lat.max_ns);
		add_line(l, "lock latency  p50 %s  p99 %s  max %s", a, b, c);
	} else {
		add_line(l, "lock latency  - (no lock in the interval)");
	}
	/* the text report's notes, line by line */
	f = open_memstream(&notes, &len);
	if (!f) {
		l->err = -ENOMEM;
		return;
	}
	kt_render_notes(f, r);
	if (fclose(f)) {
		free(notes);
		l->err = -ENOMEM;
		return;
	}
	for (line = strtok_r(notes, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		add_line(l, "%s", line);
	free(notes);
}

static void vm_row(struct lines *l, const struct kt_vm_row *row, uint64_t ps)
{
	char locked[16], p99[16] = "-";
	struct kt_row_text t;

	kt_row_text(row, &t);
	kt_fmt_bytes(locked, sizeof(locked), row->locked_pages * ps);
	if (row->lat.valid)
		kt_fmt_ns(p99, sizeof(p99), row->lat.p99_ns);
	add_line(l, "%5s %7s %-10.10s %5" PRIu64 " %6s %6s %6s %5s %5" PRIu64 " %5" PRIu64 " %6s",
		 t.vm, t.pid, row->proc.comm, row->locked_slots, locked, t.vmlck,
		 t.limit, t.pct, row->iv.locks_ok + row->iv.locks_failed,
		 row->shown.locks_failed, p99);
}

/* The VM rows: st's order and filter, at most st->rows of them */
static void body(struct lines *l, struct kt_report *r, const struct kt_screen_state *st)
{
	char line[128];
	size_t i, j, shown = 0;

	kt_sort_rows(r->rows, r->nr_vms, st->sort);
	for (i = 0; st->reverse && i < r->nr_vms / 2; i++) {
		struct kt_vm_row tmp = r->rows[i];

		r->rows[i] = r->rows[r->nr_vms - 1 - i];
		r->rows[r->nr_vms - 1 - i] = tmp;
	}
	for (i = 0; i < r->nr_vms && (!st->rows || shown < st->rows); i++) {
		const struct kt_vm_row *row = &r->rows[i];

		if (st->pid && row->pid != st->pid)
			continue;
		shown++;
		vm_row(l, row, r->page_size);
		for (j = 0; st->show_slots && j < row->nr_slots; j++) {
			kt_fmt_slot(line, sizeof(line), "", &row->slots[j]);
			add_line(l, "%s", line);
		}
	}
	if (!shown && st->pid)
		add_line(l, "no VM of pid %" PRIu32 " (p, Enter: every VM)", st->pid);
	else if (!shown)
		add_line(l, "no VM");
}

static void last_line(struct lines *l, const struct kt_screen_state *st)
{
	if (st->prompting)
		add_line(l, "pid: %s_", st->prompt);
	else if (st->status[0])
		add_line(l, "%s", st->status);
	else
		add_line(l, "h help  q quit  s sort  r reverse  p pid  d slots  +/- interval  z zero");
}

/* Moves at most max lines of from to the end of to; frees the rest */
static void move_lines(struct lines *to, struct lines *from, size_t max)
{
	size_t i;

	for (i = 0; i < from->n; i++) {
		if (i < max)
			to->line[to->n++] = from->line[i];
		else
			free(from->line[i]);
	}
	from->n = 0;
}

/*
 * Top (header, totals, column header), body (VM and slot rows), the last
 * line at the bottom; the body is cut to the height with "... N more".
 */
int kt_screen_lines(struct kt_report *r, const struct kt_screen_state *st,
		    int cols, int rows, struct kt_screen_lines *out)
{
	struct lines top = { .cols = cols }, mid = { .cols = cols };
	struct lines bot = { .cols = cols }, all = { .cols = cols };
	size_t height = rows > 1 ? (size_t)rows : 1, room, i, hdr = SIZE_MAX;
	int err;

	memset(out, 0, sizeof(*out));
	if (cols < 1)
		top.cols = mid.cols = bot.cols = all.cols = 1;
	header(&top, r, st);
	if (st->help) {
		help(&mid);
	} else if (!r) {
		add_line(&mid, "%s", "");
		add_line(&mid, "waiting for the first interval...");
	} else {
		totals(&top, r);
		hdr = top.n;
		add_line(&top, "%5s %7s %-10s %5s %6s %6s %6s %5s %5s %5s %6s", "VM",
			 "PID", "COMM", "SLOTS", "LOCKED", "VMLCK", "LIMIT", "USE%",
			 "LOCKS", "FAILS", "P99");
		if (st->show_slots)
			add_line(&top, "%5s %5s %14s %14s %9s %4s %10s %8s", "", "SLOT",
				 "IPA-START", "IPA-END", "PAGES", "PROT", "LOCKED-FOR",
				 "LOCK-LAT");
		body(&mid, r, st);
	}
	last_line(&bot, st);
	err = top.err ? top.err : mid.err ? mid.err : bot.err;
	if (err)
		goto out;

	all.line = calloc(height, sizeof(*all.line));
	if (!all.line) {
		err = -ENOMEM;
		goto out;
	}
	all.cap = height;
	room = height - 1;
	move_lines(&all, &top, room);
	if (hdr >= all.n)
		hdr = SIZE_MAX;		/* cut off */
	room -= all.n;
	if (mid.n > room && room) {
		size_t more = mid.n - (room - 1);

		move_lines(&all, &mid, room - 1);
		add_line(&all, "... %zu more", more);
	} else {
		move_lines(&all, &mid, room);
	}
	/* blank lines down to the last one */
	while (all.n + 1 < height)
		add_line(&all, "%s", "");
	move_lines(&all, &bot, 1);
	err = all.err;
	if (err)
		goto out;
	out->line = all.line;
	out->n = all.n;
	out->header = hdr;
	all.line = NULL;
	all.n = 0;
out:
	for (i = 0; i < all.n; i++)
		free(all.line[i]);
	free(all.line);
	free_lines(&top);
	free_lines(&mid);
	free_lines(&bot);
	return err;
}

void kt_screen_lines_free(struct kt_screen_lines *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->line[i]);
	free(l->line);
	memset(l, 0, sizeof(*l));
}

/* --- ncurses --------------------------------------------------------- */

static SCREEN *screen;

int kt_screen_start(char *err, size_t len)
{
	const char *term = getenv("TERM");

	if (screen)
		return 0;
	/* newterm, not initscr: initscr prints and exits when it cannot */
	screen = newterm(NULL, stdout, stdin);
	if (!screen) {
		snprintf(err, len, "no screen on this terminal (TERM=%s): use -b for plain text",
			 term && *term ? term : "unset");
		return -1;
	}
	cbreak();		/* not raw(): Ctrl-C stays SIGINT */
	noecho();
	nonl();
	intrflush(stdscr, FALSE);
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(25);	/* a lone Escape: do not wait a second for more */
	curs_set(0);		/* fails on some terminals: harmless */
	return 0;
}

bool kt_screen_active(void)
{
	return screen;
}

void kt_screen_size(int *cols, int *rows)
{
	int y, x;

	getmaxyx(stdscr, y, x);
	*cols = x;
	*rows = y;
}

void kt_screen_draw(const struct kt_screen_lines *l)
{
	int cols, rows;
	size_t i;

	kt_screen_size(&cols, &rows);
	erase();
	for (i = 0; i < l->n && i < (size_t)rows; i++) {
		if (i == l->header)
			attron(A_REVERSE);
		mvaddnstr((int)i, 0, l->line[i], cols);
		if (i == l->header)
			attroff(A_REVERSE);
	}
	refresh();
}

int kt_screen_read_key(void)
{
	int key = getch();

	return key == ERR ? KT_SCREEN_NO_KEY : key;
}

void kt_screen_end(void)
{
	if (!screen)
		return;
	endwin();
	delscreen(screen);
	screen = NULL;
}
