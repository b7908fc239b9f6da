/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmlock-top's interactive screen (top mode on a terminal). Two parts:
 * what the keys do and what the screen shows, pure and unit-tested
 * (kt_screen_key(), kt_screen_lines()); and a thin ncurses layer that
 * draws those lines and reads keys (kt_screen_start() to _end()).
 * Keys are ncurses' codes (KEY_RESIZE, KEY_BACKSPACE...).
 */
#ifndef KVMLOCK_SCREEN_H
#define KVMLOCK_SCREEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "options.h"
#include "report.h"

#define KT_SCREEN_MIN_INTERVAL	1
#define KT_SCREEN_MAX_INTERVAL	3600
#define KT_SCREEN_NO_KEY	(-1)	/* ncurses' ERR */

/* What the user chose to see; the keys change it */
struct kt_screen_state {
	enum kt_sort sort;
	bool reverse;			/* the sort key's order flipped */
	bool show_slots;		/* a row per locked memslot under its VM */
	bool help;			/* the help replaces the table */
	uint64_t interval_s;
	uint64_t rows;			/* -r: at most this many VMs, 0 all */
	uint32_t pid;			/* only this VMM's VMs; 0: every VM */
	bool prompting;			/* p: the pid is being typed */
	char prompt[8];			/* its digits so far */
	char status[160];		/* one message, until the next key or sample */
};

/* What the main loop must do after a key */
enum kt_screen_action {
	KT_SCREEN_NONE,			/* nothing changed */
	KT_SCREEN_REDRAW,		/* the view changed: draw the last report again */
	/*
	 * the interval changed: redraw; the one under way ends at its
	 * start plus the new length
	 */
	KT_SCREEN_RESAMPLE,
	KT_SCREEN_ZERO,			/* zero the counters, restart the interval now */
	KT_SCREEN_QUIT,
};

/* The lines to draw, each at most the width asked for */
struct kt_screen_lines {
	char **line;
	size_t n;
	size_t header;			/* the column header's index (drawn reversed) */
};

/* The state kvmlock-top's options start with (-s, -S, -r, interval) */
void kt_screen_init(struct kt_screen_state *st, const struct kt_opts *o);
/* Applies one key to st; says what the loop must do */
enum kt_screen_action kt_screen_key(struct kt_screen_state *st, int key);
/*
 * What the screen shows for r (NULL: no interval yet) on cols x rows.
 * Re-sorts r's rows as st says. Returns 0 or -ENOMEM.
 */
int kt_screen_lines(struct kt_report *r, const struct kt_screen_state *st,
		    int cols, int rows, struct kt_screen_lines *out);
void kt_screen_lines_free(struct kt_screen_lines *l);
/* "pages desc": the sort key and its direction as the header shows them */
const char *kt_screen_sort_label(const struct kt_screen_state *st, char *buf,
				 size_t len);

/* ncurses: start, or -1 with one line in err; idempotent end */
int kt_screen_start(char *err, size_t len);
bool kt_screen_active(void);
void kt_screen_size(int *cols, int *rows);
void kt_screen_draw(const struct kt_screen_lines *l);
/* A key typed, or KT_SCREEN_NO_KEY; never waits */
int kt_screen_read_key(void);
void kt_screen_end(void);

#endif /* KVMLOCK_SCREEN_H */
