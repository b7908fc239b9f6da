// SPDX-License-Identifier: GPL-2.0
/*
 * memslot_lock_stress - randomized stress of KVM_CAP_ARM_LOCK_USER_MEMORY_REGION
 *
 *   memslot_lock_stress [-s SEED] [-t SECONDS] [-p WORKERS] [-n OPS] [-k]
 *                       [-b BIG_MIB] [-q]
 *
 * The parent forks WORKERS worker VMMs. Each runs one VM with one vCPU and
 * four memslots of anonymous private memory (worker 0 a fifth, big one),
 * and does random operations on it: LOCK (R, RW, and RW while another
 * thread runs the vCPU), UNLOCK, UNLOCK_ALL, bad arguments, deleting,
 * moving and changing memslots, dirty logging on and off, vCPU runs and
 * resets, MADV_DONTNEED, mprotect(), munmap() and mmap() again, fork(), the
 * VM fd passed to another process, and closing the VM with memslots locked.
 * A model of each memslot (locked, with which permissions, dirty logging,
 * the content of a few words) gives the exact result of each operation, as
 * Documentation/virt/kvm/api.rst (7.34) states it. After every operation
 * the VM's statistics, the worker's VmLck, debugfs' locked_memslots and
 * (with one worker, the only case where the system-wide count is the
 * worker's) the pins of /proc/vmstat must match the model; at each vCPU run
 * the guest and the VMM must see the same memory.
 *
 * With -k the parent SIGKILLs a worker now and then, worker 0 at least once
 * inside the LOCK of its big memslot, and starts a replacement. At the end
 * nothing may stay pinned or in debugfs.
 *
 * Every random choice comes from SEED (printed first) and, in a worker,
 * from its index and generation: -s SEED runs the same operations again
 * (only their timing, and so which kill lands where and whether a LOCK
 * racing the vCPU thread gets EBUSY, varies).
 *
 * Run as root. Built against the KVM selftest library of the kernel tree.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"
#include "selftest_compat.h"

#include "timing.h"

#define LOCK		KVM_ARM_LOCK_USER_MEMORY_REGION_FLAGS_LOCK
#define UNLOCK		KVM_ARM_LOCK_USER_MEMORY_REGION_FLAGS_UNLOCK
#define READ		KVM_ARM_LOCK_MEM_READ
#define WRITE		KVM_ARM_LOCK_MEM_WRITE
#define ALL		KVM_ARM_UNLOCK_MEM_ALL

#define MAX_WORKERS	16
#define NR_SMALL	4
#define BIG		NR_SMALL	/* index of worker 0's big memslot */
#define NR_SLOTS	(NR_SMALL + 1)
#define NR_WORDS	4		/* words of each memslot the model tracks */
#define UNUSED_SLOT	9		/* a memslot id no VM has */
#define GRACE_MS	30000		/* after SECONDS, for workers to finish */
#define SETTLE_MS	5000		/* for a dead VMM's VM to go away */
#define BIG_WAIT_MS	3000		/* for worker 0 to enter its big LOCK */

/* Pages of the host's page size: the same sizes in any page size. */
static const uint64_t small_npages[NR_SMALL] = { 16, 64, 128, 512 };

static const char locked_memslots_header[] =
	"slot ipa_start ipa_end npages prot hva locked_at_ns lock_duration_ns\n";

enum op {
	OP_LOCK_R, OP_LOCK_RW, OP_LOCK_RACING, OP_UNLOCK, OP_UNLOCK_ALL,
	OP_BAD_ARGS, OP_DELETE, OP_MOVE, OP_FLAGS, OP_DIRTY_LOG, OP_RUN,
	OP_RESET, OP_DONTNEED, OP_MPROTECT, OP_REMAP, OP_FORK, OP_PASS_FD,
	OP_VM_CLOSE, NR_OPS
};

static const struct {
	const char *name;
	unsigned int weight;
} op_info[NR_OPS] = {
	[OP_LOCK_R]	 = { "lock_r",	    10 },
	[OP_LOCK_RW]	 = { "lock_rw",	    10 },
	[OP_LOCK_RACING] = { "lock_racing",  4 },
	[OP_UNLOCK]	 = { "unlock",	    12 },
	[OP_UNLOCK_ALL]	 = { "unlock_all",   3 },
	[OP_BAD_ARGS]	 = { "bad_args",     4 },
	[OP_DELETE]	 = { "delete",	     4 },
	[OP_MOVE]	 = { "move",	     4 },
	[OP_FLAGS]	 = { "flags",	     3 },
	[OP_DIRTY_LOG]	 = { "dirty_log",    6 },
	[OP_RUN]	 = { "run",	    15 },
	[OP_RESET]	 = { "reset",	     3 },
	[OP_DONTNEED]	 = { "dontneed",     5 },
	[OP_MPROTECT]	 = { "mprotect",     4 },
	[OP_REMAP]	 = { "remap",	     3 },
	[OP_FORK]	 = { "fork",	     2 },
	[OP_PASS_FD]	 = { "pass_fd",	     2 },
	[OP_VM_CLOSE]	 = { "vm_close",     1 },
};

/* The results counted, by -errno; the last one counts any other. */
static const struct {
	int err;
	const char *name;
} results[] = {
	{ 0, "ok" }, { -EINVAL, "EINVAL" }, { -EBUSY, "EBUSY" }, { -EPERM, "EPERM" },
	{ -EIO, "EIO" }, { -EAGAIN, "EAGAIN" }, { 1, "other" },
};

#define NR_RESULTS	ARRAY_SIZE(results)

/* One per worker index, in memory shared with the parent. */
struct wshared {
	int big_lock;		/* worker 0: in the LOCK of its big memslot */
	uint64_t big_lock_ns;	/* how long its last big LOCK took */
	uint64_t ops_done;	/* by all generations of this worker */
	uint64_t op_nr;		/* the operation running now, in this generation */
	int op_kind;
	uint64_t counts[NR_OPS][NR_RESULTS];
	uint64_t busy_vcpu;	/* LOCKs refused because the vCPU was running */
	uint64_t vms_created, vms_closed;
	uint64_t violations;
	uint64_t vmlck_leaked_kb;
};

struct shared {
	int stop;
	struct wshared w[MAX_WORKERS];
};

static struct {
	uint64_t seed;
	unsigned int seconds;
	unsigned int workers;
	uint64_t ops;		/* per worker; 0: until SECONDS */
	bool kill;
	unsigned int big_mib;
	bool quiet;
} opt = { .seconds = 30, .workers = 3, .big_mib = 64 };

static struct shared *shared;
static long pins_baseline;	/* system-wide pins before any worker started */
static uint64_t deadline_ms;	/* CLOCK_MONOTONIC */

/* A memslot and what the model expects of it. */
struct slot {
	uint32_t id;
	uint64_t gpa;
	uint64_t npages;	/* host pages */
	char *hva;
	bool locked;
	bool writable;		/* locked with KVM_ARM_LOCK_MEM_WRITE */
	bool dirty_log;
	uint64_t word_off[NR_WORDS];
	uint64_t word[NR_WORDS];
};

struct worker {
	int index;
	unsigned int gen;
	uint64_t seed, rng;
	struct wshared *sh;
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	uint64_t sp, pc;	/* the vCPU's on creation, for a reset */
	long pg;		/* host page size */
	uint64_t unit;		/* IPA layout: 1/64 of the IPA space */
	int nr_slots;
	struct slot slot[NR_SLOTS];
	/* The VM's cumulative statistics, as the model counts them. */
	uint64_t slot_locks, slot_lock_failures, slot_unlocks;
	uint64_t op_nr;
	enum op kind;
};

/*
 * Random numbers: splitmix64 derives seeds, xorshift64* draws from them. A
 * local generator, so that nothing else (the library, libc) moves it.
 */
static uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint64_t rnd(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static uint64_t rnd_below(uint64_t *state, uint64_t n)
{
	return n ? rnd(state) % n : 0;
}

/* Never 0: xorshift stays at 0 forever. */
static uint64_t derive_seed(uint64_t seed, uint64_t index, uint64_t gen)
{
	return splitmix64(seed ^ splitmix64((index << 32) | gen)) | 1;
}

static uint64_t now_ms(void)
{
	return now_ns() / 1000000;
}

/* The number after @key at the start of a line of @path; -1 if none. */
static long read_field(const char *path, const char *key)
{
	size_t len = strlen(key);
	char line[256];
	long val = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, len)) {
			val = atol(line + len);
			break;
		}
	}
	fclose(f);
	return val;
}

/* Pages pinned system-wide; -1 if unreadable. */
static long pins_now(void)
{
	int fd = open("/proc/sys/vm/stat_refresh", O_WRONLY);
	long acquired, released;

	/* vmstat counters are per-CPU first: fold them for an exact reading. */
	if (fd < 0 || write(fd, "1", 1) != 1) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	acquired = read_field("/proc/vmstat", "nr_foll_pin_acquired ");
	released = read_field("/proc/vmstat", "nr_foll_pin_released ");
	if (acquired < 0 || released < 0)
		return -1;
	return acquired - released;
}

/* Waits up to @ms for the pins to come back to the baseline; the rest. */
static long pins_settle(long ms)
{
	uint64_t end = now_ms() + ms;
	long pins;

	while ((pins = pins_now() - pins_baseline) && now_ms() < end)
		usleep(10000);
	return pins;
}

static const char *op_name(enum op kind)
{
	return kind < NR_OPS ? op_info[kind].name : "setup";
}

static void __printf(2, 3) __noreturn fail(struct worker *w, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printf("FAIL: worker %d.%u (pid %d, seed %lu; run seed %lu), op %lu (%s): %s\n",
	       w->index, w->gen, getpid(), w->seed, opt.seed, w->op_nr,
	       op_name(w->kind), msg);
	fflush(stdout);
	__atomic_add_fetch(&w->sh->violations, 1, __ATOMIC_SEQ_CST);
	exit(KSFT_FAIL);
}

/* The result @err (0 or -errno) is @want, or fail saying what @what was. */
static void expect(struct worker *w, int err, int want, const char *what,
		   const struct slot *s)
{
	if (err != want)
		fail(w, "%s (slot %u%s%s%s): got %s, want %s", what, s ? s->id : 0,
		     s && s->locked ? ", locked " : "",
		     s && s->locked ? (s->writable ? "rw" : "r") : "",
		     s && s->dirty_log ? ", dirty logging" : "",
		     err ? strerror(-err) : "success", want ? strerror(-want) : "success");
}

/* The guest: what it does each round, set by the VMM between two runs. */
static struct {
	uint64_t rd;	/* address of the word it reads and passes back */
	uint64_t wr;	/* address of the word it then writes; 0: none */
	uint64_t val;	/* the value it writes */
	uint64_t spin;	/* iterations it spins before syncing */
} guest_cmd;

static void guest_code(void)
{
	uint64_t val, i;

	for (;;) {
		val = READ_ONCE(*(uint64_t *)READ_ONCE(guest_cmd.rd));
		if (READ_ONCE(guest_cmd.wr))
			WRITE_ONCE(*(uint64_t *)READ_ONCE(guest_cmd.wr),
				   READ_ONCE(guest_cmd.val));
		for (i = 0; i < READ_ONCE(guest_cmd.spin); i++)
			cpu_relax();
		GUEST_SYNC(val);
	}
}

/* 0 or -errno: a LOCK or UNLOCK on @vm_fd. */
static int lock_cap(int vm_fd, uint32_t flags, uint64_t a0, uint64_t a1,
		    uint64_t a2, uint64_t a3)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_ARM_LOCK_USER_MEMORY_REGION,
		.flags = flags,
		.args = { a0, a1, a2, a3 },
	};

	return ioctl(vm_fd, KVM_ENABLE_CAP, &cap) ? -errno : 0;
}

/* 0 or -errno: KVM_SET_USER_MEMORY_REGION. */
static int set_region(struct worker *w, struct slot *s, uint32_t flags,
		      uint64_t gpa, uint64_t size, void *hva)
{
	return __vm_set_user_memory_region(w->vm, s->id, flags, gpa, size, hva) ?
	       -errno : 0;
}

static uint32_t slot_flags(const struct slot *s)
{
	return s->dirty_log ? KVM_MEM_LOG_DIRTY_PAGES : 0;
}

static uint64_t slot_size(struct worker *w, const struct slot *s)
{
	return s->npages * w->pg;
}

/* The value every word of a page memset() to @byte holds. */
static uint64_t byte_word(uint8_t byte)
{
	return byte * 0x0101010101010101ULL;
}

/* Writes all of [@first, @first + @n) pages of @s with @byte: real pages. */
static void fill_pages(struct worker *w, struct slot *s, uint64_t first,
		       uint64_t n, uint8_t byte)
{
	uint64_t start = first * w->pg, end = (first + n) * w->pg;
	int i;

	memset(s->hva + start, byte, end - start);
	for (i = 0; i < NR_WORDS; i++)
		if (s->word_off[i] >= start && s->word_off[i] < end)
			s->word[i] = byte_word(byte);
}

/* Maps @s's memory (at @hva if not NULL), all of it written. */
static void map_slot_memory(struct worker *w, struct slot *s, void *hva)
{
	void *mem = mmap(hva, slot_size(w, s), PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | (hva ? MAP_FIXED : 0), -1, 0);

	TEST_ASSERT(mem != MAP_FAILED && (!hva || mem == hva), "mmap %lu bytes: %s",
		    slot_size(w, s), strerror(errno));
	s->hva = mem;
	fill_pages(w, s, 0, s->npages, (uint8_t)(rnd(&w->rng) | 1));
}

static void add_slot(struct worker *w, int k, uint64_t npages)
{
	struct slot *s = &w->slot[k];
	uint64_t part = npages / NR_WORDS;
	int i, err;

	memset(s, 0, sizeof(*s));
	s->id = k + 1;
	s->npages = npages;
	/* Small memslots 1/8 of a unit apart from 1 unit, the big one at 2. */
	s->gpa = k == BIG ? 2 * w->unit : w->unit + k * (w->unit / 8);
	/* One word in each quarter of the memslot, anywhere in its page. */
	for (i = 0; i < NR_WORDS; i++)
		s->word_off[i] = (i * part + rnd_below(&w->rng, part)) * w->pg +
				 rnd_below(&w->rng, w->pg / 8) * 8;
	map_slot_memory(w, s, NULL);
	for (i = 0; i < NR_WORDS; i++) {
		s->word[i] = rnd(&w->rng);
		*(uint64_t *)(s->hva + s->word_off[i]) = s->word[i];
	}
	err = set_region(w, s, 0, s->gpa, slot_size(w, s), s->hva);
	expect(w, err, 0, "create memslot", s);
	virt_map(w->vm, s->gpa, s->gpa, slot_size(w, s) / w->vm->page_size);
}

static uint64_t total_guest_pages(struct worker *w)
{
	uint64_t pages = 0;
	int k;

	for (k = 0; k < NR_SMALL; k++)
		pages += small_npages[k];
	if (w->index == 0)
		pages += (uint64_t)opt.big_mib << 20 >> __builtin_ctzl(w->pg);
	/* In guest pages: 4 KiB at least. */
	return pages * w->pg / 4096;
}

/* A new VM, its vCPU and memslots, all unlocked. */
static void vm_open(struct worker *w)
{
	int k;

	/* The extra pages size the guest page tables, in memslot 0. */
	w->vm = __vm_create_with_one_vcpu(&w->vcpu, total_guest_pages(w), guest_code);
	kvmlock_ucall_init(w->vm);
	/* 1/64 of the IPA space: the ucall MMIO address is at 5/8 of it. */
	TEST_ASSERT(w->vm->pa_bits >= 36, "IPA space of %u bits: too small",
		    w->vm->pa_bits);
	w->unit = 1ULL << (w->vm->pa_bits - 6);
	w->nr_slots = w->index == 0 ? NR_SLOTS : NR_SMALL;
	for (k = 0; k < NR_SMALL; k++)
		add_slot(w, k, small_npages[k]);
	if (w->index == 0)
		add_slot(w, BIG, (uint64_t)opt.big_mib << 20 >> __builtin_ctzl(w->pg));
	vcpu_get_reg(w->vcpu, ARM64_CORE_REG(sp_el1), &w->sp);
	vcpu_get_reg(w->vcpu, ARM64_CORE_REG(regs.pc), &w->pc);
	w->slot_locks = 0;
	w->slot_lock_failures = 0;
	w->slot_unlocks = 0;
	w->sh->vms_created++;
}

static void vm_debugfs_dir(struct worker *w, char *path, size_t size)
{
	snprintf(path, size, "/sys/kernel/debug/kvm/%d-%d", getpid(), w->vm->fd);
}

/*
 * Closes the VM with whatever is locked: its destruction unlocks every
 * memslot, at once (the last reference is the VM fd, closed last). Returns
 * the VmLck left, in kB.
 */
static long vm_close(struct worker *w)
{
	char dir[64];
	long vmlck, pins;
	int k;

	vm_debugfs_dir(w, dir, sizeof(dir));
	kvm_vm_free(w->vm);
	w->vm = NULL;
	w->sh->vms_closed++;
	for (k = 0; k < w->nr_slots; k++)
		w->slot[k].locked = false;
	vmlck = read_field("/proc/self/status", "VmLck:");
	if (vmlck)
		fail(w, "VmLck %ld kB after closing the VM, want 0", vmlck);
	pins = opt.workers == 1 ? pins_now() - pins_baseline : 0;
	if (pins)
		fail(w, "%+ld pages pinned after closing the VM, want 0", pins);
	if (!access(dir, F_OK))
		fail(w, "%s is still there after closing the VM", dir);
	for (k = 0; k < w->nr_slots; k++)
		munmap(w->slot[k].hva, slot_size(w, &w->slot[k]));
	return vmlck;
}

/* The invariants: statistics, VmLck, locked_memslots, pins match the model. */
static void check_stats(struct worker *w, uint64_t pages, uint64_t writable,
			int nr_locked)
{
	const struct {
		const char *name;
		uint64_t want;
	} stats[] = {
		{ "locked_slots", nr_locked },
		{ "locked_pages", pages },
		{ "locked_pages_writable", writable },
		{ "slot_locks", w->slot_locks },
		{ "slot_lock_failures", w->slot_lock_failures },
		{ "slot_unlocks", w->slot_unlocks },
		{ "memlock_account_failures", 0 },
	};
	unsigned int i;
	uint64_t val;

	for (i = 0; i < ARRAY_SIZE(stats); i++) {
		val = ~0ULL;
		__vm_get_stat(w->vm, stats[i].name, &val, 1);
		if (val != stats[i].want)
			fail(w, "VM statistic %s is %lu, want %lu", stats[i].name, val,
			     stats[i].want);
	}
}

/* The VM's locked_memslots file, open, or fail. */
static FILE *open_locked_memslots(struct worker *w)
{
	char path[96];
	FILE *f;

	vm_debugfs_dir(w, path, sizeof(path));
	strcat(path, "/locked_memslots");
	f = fopen(path, "r");
	if (!f)
		fail(w, "open %s: %s", path, strerror(errno));
	return f;
}

/* locked_memslots lists exactly the model's locked memslots. */
static void check_locked_memslots(struct worker *w, int nr_locked)
{
	unsigned long ipa_start, ipa_end, npages, hva;
	bool seen[NR_SLOTS] = { false };
	FILE *f = open_locked_memslots(w);
	char line[256], prot[4];
	int n = -2, pid, k;
	unsigned int id;
	struct slot *s;
	uint64_t vm_id;

	while (fgets(line, sizeof(line), f)) {
		if (n == -2) {
			if (sscanf(line, "vm %lu pid %d", &vm_id, &pid) != 2 ||
			    pid != getpid())
				fail(w, "locked_memslots, first line: %s", line);
		} else if (n == -1) {
			if (strcmp(line, locked_memslots_header))
				fail(w, "locked_memslots, header: %s", line);
		} else {
			if (sscanf(line, "%u %lx %lx %lu %3s %lx", &id, &ipa_start,
				   &ipa_end, &npages, prot, &hva) != 6 ||
			    id < 1 || id > (unsigned int)w->nr_slots)
				fail(w, "locked_memslots line: %s", line);
			k = id - 1;
			s = &w->slot[k];
			if (!s->locked || seen[k])
				fail(w, "locked_memslots lists slot %u %s: %s", id,
				     seen[k] ? "twice" : "not locked", line);
			seen[k] = true;
			if (ipa_start != s->gpa || ipa_end != s->gpa + slot_size(w, s) ||
			    npages != s->npages || strcmp(prot, s->writable ? "rw" : "r") ||
			    hva != (unsigned long)s->hva)
				fail(w, "locked_memslots: %s, want %u %#lx %#lx %lu %s %p",
				     line, id, s->gpa, s->gpa + slot_size(w, s), s->npages,
				     s->writable ? "rw" : "r", s->hva);
		}
		n++;
	}
	fclose(f);
	if (n != nr_locked)
		fail(w, "locked_memslots lists %d memslots, want %d", n, nr_locked);
}

static void check_invariants(struct worker *w)
{
	uint64_t pages = 0, writable = 0;
	int k, nr_locked = 0;
	long vmlck, pins;

	for (k = 0; k < w->nr_slots; k++) {
		if (!w->slot[k].locked)
			continue;
		nr_locked++;
		pages += w->slot[k].npages;
		if (w->slot[k].writable)
			writable += w->slot[k].npages;
	}
	check_stats(w, pages, writable, nr_locked);
	/* The charge is the memslot's pages, whatever happened to the mapping. */
	vmlck = read_field("/proc/self/status", "VmLck:");
	if (vmlck != (long)(pages * w->pg / 1024))
		fail(w, "VmLck %ld kB, want %lu kB", vmlck, pages * w->pg / 1024);
	check_locked_memslots(w, nr_locked);
	/*
	 * Every page was written before it was locked: each is a real page,
	 * pinned once. Pages replaced since (MADV_DONTNEED, munmap()) stay
	 * pinned until the unlock: the count follows the locks only.
	 */
	if (opt.workers != 1)
		return;
	pins = pins_now() - pins_baseline;
	if (pins != (long)pages)
		fail(w, "%ld pages pinned, want %lu", pins, pages);
}

/*
 * The page-content oracle: the guest reads a word and writes another; it
 * must read what the model (and the VMM) says, and the VMM must then see
 * what it wrote, whatever happened to the mappings meanwhile.
 */
struct probe {
	struct slot *rd;
	uint64_t rd_off, want;
	struct slot *wr;	/* NULL: the guest writes nothing */
	int wr_word;
	uint64_t val;
};

/* Reads a tracked word at random, writes another (maybe in @only). */
static void random_probe(struct worker *w, struct probe *p, struct slot *only)
{
	int i = rnd_below(&w->rng, NR_WORDS);

	p->rd = only ? only : &w->slot[rnd_below(&w->rng, w->nr_slots)];
	p->rd_off = p->rd->word_off[i];
	p->want = p->rd->word[i];
	p->wr = &w->slot[rnd_below(&w->rng, w->nr_slots)];
	p->wr_word = rnd_below(&w->rng, NR_WORDS);
	p->val = rnd(&w->rng);
}

static void probe_prepare(struct worker *w, struct probe *p, uint64_t spin)
{
	uint64_t vmm = *(uint64_t *)(p->rd->hva + p->rd_off);

	if (vmm != p->want)
		fail(w, "the VMM reads %#lx at slot %u + %#lx, want %#lx", vmm,
		     p->rd->id, p->rd_off, p->want);
	guest_cmd.rd = p->rd->gpa + p->rd_off;
	guest_cmd.wr = p->wr ? p->wr->gpa + p->wr->word_off[p->wr_word] : 0;
	guest_cmd.val = p->val;
	guest_cmd.spin = spin;
	sync_global_to_guest(w->vm, guest_cmd);
}

/* After KVM_RUN returned @ret (@err): the guest synced with the right word. */
static void probe_finish(struct worker *w, struct probe *p, int ret, int err)
{
	struct ucall uc;
	uint64_t cmd, vmm;

	if (ret)
		fail(w, "KVM_RUN: %s", strerror(-err));
	cmd = get_ucall(w->vcpu, &uc);
	if (cmd != UCALL_SYNC)
		fail(w, "the guest exited with %s, ucall %lu, not a sync",
		     exit_reason_str(w->vcpu->run->exit_reason), cmd);
	if (uc.args[1] != p->want)
		fail(w, "the guest reads %#lx at slot %u + %#lx, the VMM %#lx", uc.args[1],
		     p->rd->id, p->rd_off, p->want);
	if (!p->wr)
		return;
	vmm = *(uint64_t *)(p->wr->hva + p->wr->word_off[p->wr_word]);
	if (vmm != p->val)
		fail(w, "the guest wrote %#lx at slot %u + %#lx, the VMM reads %#lx",
		     p->val, p->wr->id, p->wr->word_off[p->wr_word], vmm);
	p->wr->word[p->wr_word] = p->val;
}

static void probe_run(struct worker *w, struct probe *p)
{
	int ret;

	probe_prepare(w, p, 0);
	ret = __vcpu_run(w->vcpu);
	probe_finish(w, p, ret, -errno);
}

/* Reads a tracked word of @s (or any), writes a tracked word. */
static void oracle(struct worker *w, struct slot *s)
{
	struct probe p;

	random_probe(w, &p, s);
	probe_run(w, &p);
}

static struct slot *random_slot(struct worker *w)
{
	return &w->slot[rnd_below(&w->rng, w->nr_slots)];
}

/* For LOCK and UNLOCK, worker 0 picks its big memslot half of the time. */
static struct slot *lock_target(struct worker *w)
{
	if (w->index == 0 && rnd_below(&w->rng, 2))
		return &w->slot[BIG];
	return &w->slot[rnd_below(&w->rng, NR_SMALL)];
}

/*
 * What LOCK of @s with @perm returns, in the kernel's order of checks:
 * EPERM (WRITE with dirty logging) before EBUSY (locked already).
 */
static int lock_result(const struct slot *s, uint64_t perm)
{
	if ((perm & WRITE) && s->dirty_log)
		return -EPERM;
	return s->locked ? -EBUSY : 0;
}

/* Applies a LOCK's result to the model. */
static void lock_done(struct worker *w, struct slot *s, uint64_t perm, int err)
{
	if (err) {
		w->slot_lock_failures++;
		return;
	}
	w->slot_locks++;
	s->locked = true;
	s->writable = perm & WRITE;
}

/*
 * A LOCK. Worker 0 tells the parent when it is in a LOCK of its big
 * memslot that pins (@want is 0), for a kill to land there.
 */
static int do_lock(struct worker *w, struct slot *s, uint64_t perm, int want)
{
	bool big = w->index == 0 && s == &w->slot[BIG] && !want;
	uint64_t t0 = now_ns();
	int err;

	if (big)
		__atomic_store_n(&w->sh->big_lock, 1, __ATOMIC_SEQ_CST);
	err = lock_cap(w->vm->fd, LOCK, s->id, perm, 0, 0);
	if (big) {
		__atomic_store_n(&w->sh->big_lock, 0, __ATOMIC_SEQ_CST);
		if (!err)
			w->sh->big_lock_ns = now_ns() - t0;
	}
	return err;
}

static int op_lock(struct worker *w, uint64_t perm)
{
	struct slot *s = lock_target(w);
	int want = lock_result(s, perm), err = do_lock(w, s, perm, want);

	/* A racing invalidation may refuse it (api.rst): nothing changes. */
	if (err == -EAGAIN && !want)
		want = -EAGAIN;
	expect(w, err, want, perm & WRITE ? "LOCK RW" : "LOCK R", s);
	lock_done(w, s, perm, err);
	return err;
}

struct vcpu_thread {
	struct kvm_vcpu *vcpu;
	int ret, err;
};

static void *run_vcpu_thread(void *data)
{
	struct vcpu_thread *t = data;

	t->ret = __vcpu_run(t->vcpu);
	t->err = -errno;
	return NULL;
}

/*
 * A LOCK while a second thread runs the vCPU, which spins a little in the
 * guest: KVM refuses to wait for the vCPU and fails with EBUSY, before any
 * other check. Whether the vCPU is in KVM_RUN at that moment is up to the
 * scheduler: the model's result, or EBUSY, and nothing else.
 */
static int op_lock_racing(struct worker *w)
{
	uint64_t perm = READ | (rnd_below(&w->rng, 2) ? WRITE : 0);
	struct vcpu_thread t = { .vcpu = w->vcpu };
	struct slot *s = lock_target(w);
	int want = lock_result(s, perm), err;
	pthread_t thread;
	struct probe p;

	random_probe(w, &p, NULL);
	probe_prepare(w, &p, rnd_below(&w->rng, 1 << 20));
	TEST_ASSERT(!pthread_create(&thread, NULL, run_vcpu_thread, &t), "pthread_create");
	usleep(rnd_below(&w->rng, 500));
	err = do_lock(w, s, perm, want);
	pthread_join(thread, NULL);
	if (err == -EBUSY && want != -EBUSY)
		w->sh->busy_vcpu++;
	else if (err != -EAGAIN || want)
		expect(w, err, want, "LOCK racing KVM_RUN", s);
	lock_done(w, s, perm, err);
	probe_finish(w, &p, t.ret, t.err);
	return err;
}

static int op_unlock(struct worker *w)
{
	struct slot *s = lock_target(w);
	int want = s->locked ? 0 : -EINVAL;
	int err = lock_cap(w->vm->fd, UNLOCK, s->id, 0, 0, 0);

	expect(w, err, want, "UNLOCK", s);
	if (!err) {
		s->locked = false;
		w->slot_unlocks++;
	}
	return err;
}

static int op_unlock_all(struct worker *w)
{
	int err = lock_cap(w->vm->fd, UNLOCK, 0, ALL, 0, 0), k;

	expect(w, err, 0, "UNLOCK_ALL", NULL);
	for (k = 0; k < w->nr_slots; k++) {
		w->slot_unlocks += w->slot[k].locked;
		w->slot[k].locked = false;
	}
	return err;
}

/*
 * Arguments api.rst's table says are EINVAL. Those that KVM checks before
 * it starts a LOCK (flags, args[1..3]) count in no statistic; a LOCK of an
 * id that names no memslot is a LOCK that failed. SLOT: the memslot picked.
 */
#define SLOT	(~0ULL)

static const struct {
	uint32_t flags;
	uint64_t args[4];
	bool counted;
} bad_args[] = {
	{ 0, { SLOT, READ }, false },			/* neither LOCK nor UNLOCK */
	{ LOCK | UNLOCK, { SLOT, READ }, false },	/* both */
	{ LOCK, { SLOT, 0 }, false },			/* no READ */
	{ LOCK, { SLOT, WRITE }, false },		/* WRITE without READ */
	{ LOCK, { SLOT, READ | (1 << 2) }, false },	/* unknown permission */
	{ LOCK, { SLOT, READ, 1 }, false },		/* args[2] */
	{ UNLOCK, { SLOT, 0, 0, 1 }, false },		/* args[3] */
	{ UNLOCK, { SLOT, ALL }, false },		/* a memslot id with ALL */
	{ UNLOCK, { SLOT, 1 << 1 }, false },		/* unknown unlock flag */
	{ UNLOCK, { UNUSED_SLOT, 0 }, false },		/* no such memslot */
	{ LOCK, { UNUSED_SLOT, READ }, true },		/* no such memslot */
	{ LOCK, { 1ULL << 40, READ }, true },		/* no such memslot id */
};

static int op_bad_args(struct worker *w)
{
	int i = rnd_below(&w->rng, ARRAY_SIZE(bad_args)), err, j;
	struct slot *s = random_slot(w);
	uint64_t a[4];

	for (j = 0; j < 4; j++)
		a[j] = bad_args[i].args[j] == SLOT ? s->id : bad_args[i].args[j];
	err = lock_cap(w->vm->fd, bad_args[i].flags, a[0], a[1], a[2], a[3]);
	if (err != -EINVAL)
		fail(w, "bad arguments #%d (flags %#x, args %#lx %#lx %#lx %#lx): %s, not EINVAL",
		     i, bad_args[i].flags, a[0], a[1], a[2], a[3],
		     err ? strerror(-err) : "success");
	w->slot_lock_failures += bad_args[i].counted;
	return err;
}

/* Puts @s back as the model has it, after a delete or move that succeeded. */
static void restore_slot(struct worker *w, struct slot *s)
{
	int err = set_region(w, s, slot_flags(s), s->gpa, slot_size(w, s), s->hva);

	expect(w, err, 0, "recreate or move back the memslot", s);
}

/* A locked memslot cannot be deleted or moved: EBUSY. */
static int op_delete(struct worker *w)
{
	struct slot *s = random_slot(w);
	int err = set_region(w, s, slot_flags(s), s->gpa, 0, s->hva);

	expect(w, err, s->locked ? -EBUSY : 0, "delete memslot", s);
	if (!err)
		restore_slot(w, s);
	oracle(w, s);
	return err;
}

static int op_move(struct worker *w)
{
	struct slot *s = random_slot(w);
	int err = set_region(w, s, slot_flags(s), s->gpa + 4 * w->unit,
			     slot_size(w, s), s->hva);

	expect(w, err, s->locked ? -EBUSY : 0, "move memslot", s);
	if (!err)
		restore_slot(w, s);
	oracle(w, s);
	return err;
}

/*
 * Changes of a memslot the generic code answers before KVM looks at the
 * lock: KVM_MEM_READONLY, the address or the size cannot change (EINVAL);
 * the same memslot again changes nothing (0), locked or not.
 */
static int op_flags(struct worker *w)
{
	struct slot *s = random_slot(w);
	int variant = rnd_below(&w->rng, 4), err;
	uint64_t size = slot_size(w, s);

	switch (variant) {
	case 0:
		err = set_region(w, s, slot_flags(s) | KVM_MEM_READONLY, s->gpa, size,
				 s->hva);
		break;
	case 1:
		err = set_region(w, s, slot_flags(s), s->gpa, size, s->hva + w->pg);
		break;
	case 2:
		err = set_region(w, s, slot_flags(s), s->gpa, size - w->pg, s->hva);
		break;
	default:
		err = set_region(w, s, slot_flags(s), s->gpa, size, s->hva);
		break;
	}
	expect(w, err, variant == 3 ? 0 : -EINVAL, "change memslot", s);
	return err;
}

/*
 * Dirty logging may be turned on and off for a memslot unlocked or locked
 * for reading; for one locked RW, it is a change of a locked memslot: EBUSY.
 */
static int op_dirty_log(struct worker *w)
{
	struct slot *s = random_slot(w);
	uint32_t flags = slot_flags(s) ^ KVM_MEM_LOG_DIRTY_PAGES;
	int err = set_region(w, s, flags, s->gpa, slot_size(w, s), s->hva);

	expect(w, err, s->locked && s->writable ? -EBUSY : 0,
	       s->dirty_log ? "dirty logging off" : "dirty logging on", s);
	if (!err)
		s->dirty_log = !s->dirty_log;
	oracle(w, s);
	return err;
}

/* The VMM writes a word first, half of the time: the guest must see it. */
static int op_run(struct worker *w)
{
	struct slot *s = random_slot(w);
	int i = rnd_below(&w->rng, NR_WORDS);

	if (rnd_below(&w->rng, 2)) {
		s->word[i] = rnd(&w->rng);
		*(uint64_t *)(s->hva + s->word_off[i]) = s->word[i];
	}
	oracle(w, s);
	return 0;
}

/* KVM_ARM_VCPU_INIT again, as a VMM resets a vCPU: the memory stays. */
static int op_reset(struct worker *w)
{
	aarch64_vcpu_setup(w->vcpu, NULL);
	vcpu_set_reg(w->vcpu, ARM64_CORE_REG(sp_el1), w->sp);
	vcpu_set_reg(w->vcpu, ARM64_CORE_REG(regs.pc), w->pc);
	oracle(w, NULL);
	return 0;
}

/* A few pages of @s at random: [*first, *first + *n). */
static void random_range(struct worker *w, struct slot *s, uint64_t *first,
			 uint64_t *n)
{
	*n = 1 + rnd_below(&w->rng, 4);
	*first = rnd_below(&w->rng, s->npages - *n + 1);
}

/* The guest reads the first word of page @page of @s: @want. */
static void guest_reads(struct worker *w, struct slot *s, uint64_t page,
			uint64_t want)
{
	struct probe p = {
		.rd = s, .rd_off = page * w->pg, .want = want, .wr = NULL,
	};

	probe_run(w, &p);
}

/*
 * MADV_DONTNEED drops the VMM's pages: both views read zeros. Locked, the
 * old pages stay pinned and charged until the unlock. The VMM writes them
 * again, which makes them real pages for a later LOCK.
 */
static int op_dontneed(struct worker *w)
{
	struct slot *s = random_slot(w);
	uint64_t first, n, i;
	uint8_t byte = rnd(&w->rng) | 1;

	random_range(w, s, &first, &n);
	TEST_ASSERT(!madvise(s->hva + first * w->pg, n * w->pg, MADV_DONTNEED),
		    "madvise: %s", strerror(errno));
	for (i = 0; i < NR_WORDS; i++)
		if (s->word_off[i] / w->pg - first < n)
			s->word[i] = 0;
	guest_reads(w, s, first + rnd_below(&w->rng, n), 0);
	fill_pages(w, s, first, n, byte);
	guest_reads(w, s, first + rnd_below(&w->rng, n), byte_word(byte));
	oracle(w, s);
	return 0;
}

/*
 * mprotect() read-only and back: the guest may read meanwhile (its writes
 * would fail KVM_RUN: it writes nothing then), and sees the same memory.
 */
static int op_mprotect(struct worker *w)
{
	struct slot *s = random_slot(w);
	uint64_t first, n;
	struct probe p;
	int i;

	random_range(w, s, &first, &n);
	TEST_ASSERT(!mprotect(s->hva + first * w->pg, n * w->pg, PROT_READ),
		    "mprotect: %s", strerror(errno));
	if (rnd_below(&w->rng, 2)) {
		i = rnd_below(&w->rng, NR_WORDS);
		p = (struct probe){ .rd = s, .rd_off = s->word_off[i],
				    .want = s->word[i], .wr = NULL };
		probe_run(w, &p);
	}
	TEST_ASSERT(!mprotect(s->hva + first * w->pg, n * w->pg,
			      PROT_READ | PROT_WRITE), "mprotect: %s", strerror(errno));
	oracle(w, s);
	return 0;
}

/*
 * New memory in all of a small memslot's range: written, so the guest must
 * see it after its next fault. Locked, the old pages stay pinned.
 */
static int op_remap(struct worker *w)
{
	struct slot *s = &w->slot[rnd_below(&w->rng, NR_SMALL)];

	TEST_ASSERT(!munmap(s->hva, slot_size(w, s)), "munmap: %s", strerror(errno));
	map_slot_memory(w, s, s->hva);
	oracle(w, s);
	return 0;
}

static void wait_child(struct worker *w, pid_t pid, const char *what)
{
	int status;

	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		fail(w, "%s: child status %#x", what, status);
}

/*
 * fork() write-protects the VMM's private memory, which unmaps locked
 * memslots at stage 2 (api.rst); the pinned pages stay the VMM's.
 */
static int op_fork(struct worker *w)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	TEST_ASSERT(pid >= 0, "fork: %s", strerror(errno));
	if (!pid)
		_exit(0);
	wait_child(w, pid, "fork");
	oracle(w, NULL);
	return 0;
}

/* Sends @fd over the UNIX socket @sock (SCM_RIGHTS). */
static void send_fd(int sock, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 }, byte = 'F';
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);

	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	TEST_ASSERT(sendmsg(sock, &msg, 0) == 1, "sendmsg: %s", strerror(errno));
}

/* The fd received on @sock, or -1. */
static int recv_fd(int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))], byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cmsg;
	int fd;

	if (recvmsg(sock, &msg, 0) != 1)
		return -1;
	cmsg = CMSG_FIRSTHDR(&msg);
	if (!cmsg || cmsg->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
	return fd;
}

/*
 * Another process that got the VM fd over a socket cannot lock, unlock or
 * change memslots: EIO, each (the ioctl comes from a process other than the
 * VM's creator). It closes its fd; the VM stays the worker's, intact.
 */
static int op_pass_fd(struct worker *w)
{
	struct slot *s = random_slot(w);
	int sv[2], fd, errs[3] = { 0 };
	struct kvm_userspace_memory_region region = {
		.slot = s->id, .guest_phys_addr = s->gpa,
		.memory_size = 0, .userspace_addr = (uintptr_t)s->hva,
	};
	pid_t pid;

	TEST_ASSERT(!socketpair(AF_UNIX, SOCK_STREAM, 0, sv), "socketpair");
	fflush(stdout);
	pid = fork();
	TEST_ASSERT(pid >= 0, "fork: %s", strerror(errno));
	if (!pid) {
		close(sv[0]);
		fd = recv_fd(sv[1]);
		if (fd < 0)
			_exit(2);
		errs[0] = lock_cap(fd, LOCK, s->id, READ, 0, 0);
		errs[1] = lock_cap(fd, UNLOCK, 0, ALL, 0, 0);
		errs[2] = ioctl(fd, KVM_SET_USER_MEMORY_REGION, &region) ? -errno : 0;
		close(fd);
		_exit(write(sv[1], errs, sizeof(errs)) == sizeof(errs) ? 0 : 3);
	}
	close(sv[1]);
	send_fd(sv[0], w->vm->fd);
	TEST_ASSERT(read(sv[0], errs, sizeof(errs)) == sizeof(errs),
		    "no answer from the child");
	close(sv[0]);
	wait_child(w, pid, "VM fd passed over a socket");
	expect(w, errs[0], -EIO, "LOCK from another process", s);
	expect(w, errs[1], -EIO, "UNLOCK_ALL from another process", NULL);
	expect(w, errs[2], -EIO, "delete a memslot from another process", s);
	oracle(w, NULL);
	return errs[0];
}

/* The VM goes away with whatever is locked; a new one comes. */
static int op_vm_close(struct worker *w)
{
	vm_close(w);
	vm_open(w);
	oracle(w, NULL);
	return 0;
}

static enum op pick_op(struct worker *w)
{
	unsigned int total = 0, r;
	int i;

	for (i = 0; i < NR_OPS; i++)
		total += op_info[i].weight;
	r = rnd_below(&w->rng, total);
	for (i = 0; r >= op_info[i].weight; i++)
		r -= op_info[i].weight;
	return i;
}

static int do_op(struct worker *w, enum op kind)
{
	switch (kind) {
	case OP_LOCK_R:		return op_lock(w, READ);
	case OP_LOCK_RW:	return op_lock(w, READ | WRITE);
	case OP_LOCK_RACING:	return op_lock_racing(w);
	case OP_UNLOCK:		return op_unlock(w);
	case OP_UNLOCK_ALL:	return op_unlock_all(w);
	case OP_BAD_ARGS:	return op_bad_args(w);
	case OP_DELETE:		return op_delete(w);
	case OP_MOVE:		return op_move(w);
	case OP_FLAGS:		return op_flags(w);
	case OP_DIRTY_LOG:	return op_dirty_log(w);
	case OP_RUN:		return op_run(w);
	case OP_RESET:		return op_reset(w);
	case OP_DONTNEED:	return op_dontneed(w);
	case OP_MPROTECT:	return op_mprotect(w);
	case OP_REMAP:		return op_remap(w);
	case OP_FORK:		return op_fork(w);
	case OP_PASS_FD:	return op_pass_fd(w);
	default:		return op_vm_close(w);
	}
}

static int result_index(int err)
{
	unsigned int i;

	for (i = 0; i < NR_RESULTS - 1; i++)
		if (results[i].err == err)
			return i;
	return NR_RESULTS - 1;
}

static bool worker_should_stop(struct worker *w)
{
	return __atomic_load_n(&shared->stop, __ATOMIC_SEQ_CST) ||
	       now_ms() >= deadline_ms ||
	       (opt.ops && __atomic_load_n(&w->sh->ops_done, __ATOMIC_SEQ_CST) >= opt.ops);
}

static void __noreturn worker_main(int index, unsigned int gen, uint64_t seed)
{
	struct worker w = {
		.index = index, .gen = gen, .seed = seed, .rng = seed,
		.sh = &shared->w[index], .pg = getpagesize(), .kind = NR_OPS,
	};
	int err;

	vm_open(&w);
	check_invariants(&w);
	while (!worker_should_stop(&w)) {
		w.op_nr++;
		w.kind = pick_op(&w);
		w.sh->op_nr = w.op_nr;
		w.sh->op_kind = w.kind;
		err = do_op(&w, w.kind);
		check_invariants(&w);
		w.sh->counts[w.kind][result_index(err)]++;
		__atomic_add_fetch(&w.sh->ops_done, 1, __ATOMIC_SEQ_CST);
	}
	w.kind = NR_OPS;
	w.sh->vmlck_leaked_kb = vm_close(&w);
	exit(KSFT_PASS);
}

/* The parent's record of each worker index. */
static struct {
	pid_t pid;		/* 0: none running */
	unsigned int gen;	/* of the one running, or the last */
	bool done;		/* finished its operations, or failed */
	bool killed;		/* by the parent */
} workers[MAX_WORKERS];

static struct {
	uint64_t started, kills, big_kills, big_missed, failures, hangs;
	long pins_leaked;
	pid_t *pids;		/* every worker started, for the debugfs check */
	uint64_t *seeds;
} fig;

static bool failed;

static void start_worker(int index, unsigned int gen)
{
	uint64_t seed = derive_seed(opt.seed, index, gen);
	pid_t pid;

	printf("worker %d.%u seed %lu\n", index, gen, seed);
	fflush(stdout);
	pid = fork();
	TEST_ASSERT(pid >= 0, "fork: %s", strerror(errno));
	if (!pid)
		worker_main(index, gen, seed);
	workers[index].pid = pid;
	workers[index].gen = gen;
	workers[index].killed = false;
	fig.pids = realloc(fig.pids, (fig.started + 1) * sizeof(*fig.pids));
	fig.seeds = realloc(fig.seeds, (fig.started + 1) * sizeof(*fig.seeds));
	TEST_ASSERT(fig.pids && fig.seeds, "realloc");
	fig.pids[fig.started] = pid;
	fig.seeds[fig.started++] = seed;
}

static void stop_all(void)
{
	__atomic_store_n(&shared->stop, 1, __ATOMIC_SEQ_CST);
}

/* A worker ended with @status: a kill of ours, done, or a failure. */
static void worker_ended(int index, int status)
{
	struct wshared *sh = &shared->w[index];

	workers[index].pid = 0;
	if (workers[index].killed && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		return;
	workers[index].done = true;
	if (WIFEXITED(status) && WEXITSTATUS(status) == KSFT_PASS)
		return;
	printf("FAIL: worker %d.%u ended with status %#x in op %lu (%s)\n", index,
	       workers[index].gen, status, sh->op_nr, op_name(sh->op_kind));
	fig.failures++;
	failed = true;
	stop_all();
}

static void reap_workers(void)
{
	unsigned int i;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		for (i = 0; i < opt.workers; i++)
			if (workers[i].pid == pid)
				worker_ended(i, status);
}

/* Waits up to @ms for worker @index to end; false if it hangs. */
static bool wait_worker(int index, long ms)
{
	uint64_t end = now_ms() + ms;
	int status;

	do {
		if (waitpid(workers[index].pid, &status, WNOHANG) == workers[index].pid) {
			worker_ended(index, status);
			return true;
		}
		usleep(1000);
	} while (now_ms() < end);
	printf("FAIL: worker %d.%u (pid %d) hangs in op %lu (%s)\n", index,
	       workers[index].gen, workers[index].pid, shared->w[index].op_nr,
	       op_name(shared->w[index].op_kind));
	fig.hangs++;
	failed = true;
	return false;
}

/*
 * SIGKILLs a worker: worker 0 inside the LOCK of its big memslot until one
 * such kill landed (not at all while it has not got there), and half of
 * the time after; another at random else.
 * Then starts its next generation, unless it was done.
 */
static void kill_one(uint64_t *rng)
{
	int index = rnd_below(rng, opt.workers), in_lock = 0, status;
	uint64_t end, delay_us = 0;
	bool big;

	big = !workers[0].done && workers[0].pid &&
	      (!fig.big_kills || rnd_below(rng, 2));
	if (big) {
		index = 0;
		/*
		 * Until one kill landed there, wait for the big LOCK as long
		 * as the run lasts: on a loaded machine a worker killed every
		 * few seconds may never get that far again.
		 */
		end = fig.big_kills ? now_ms() + BIG_WAIT_MS : deadline_ms;
		while (!__atomic_load_n(&shared->w[0].big_lock, __ATOMIC_SEQ_CST) &&
		       now_ms() < end) {
			if (waitpid(workers[0].pid, &status, WNOHANG) == workers[0].pid) {
				worker_ended(0, status);
				return;
			}
			usleep(50);
		}
		if (!fig.big_kills &&
		    !__atomic_load_n(&shared->w[0].big_lock, __ATOMIC_SEQ_CST))
			return;
		/* Within how long its last big LOCK took (~1 ms the first time). */
		delay_us = rnd_below(rng, shared->w[0].big_lock_ns / 1000 * 9 / 10 + 1);
		if (!shared->w[0].big_lock_ns)
			delay_us = rnd_below(rng, 1000);
		usleep(delay_us);
	}
	if (workers[index].done || !workers[index].pid)
		return;
	workers[index].killed = true;
	kill(workers[index].pid, SIGKILL);
	if (!wait_worker(index, GRACE_MS)) {
		/* Reported; SIGKILL cannot end it: leave it. */
		workers[index].pid = 0;
		workers[index].done = true;
		stop_all();
		return;
	}
	/* It may have ended on its own (done, or failed) just before. */
	if (workers[index].done)
		return;
	fig.kills++;
	/* Dead, it can no longer say it left: was it in the ioctl? */
	if (big) {
		in_lock = __atomic_load_n(&shared->w[0].big_lock, __ATOMIC_SEQ_CST);
		fig.big_kills += in_lock;
		fig.big_missed += !in_lock;
		shared->w[0].big_lock = 0;
	}
	if (!opt.quiet)
		printf("killed worker %d.%u in op %lu (%s)%s\n", index, workers[index].gen,
		       shared->w[index].op_nr, op_name(shared->w[index].op_kind),
		       !big ? "" : in_lock ? ", inside the LOCK of its big memslot" :
		       ", not inside its big LOCK");
	/* With one worker, its pins are all the system's: exact. */
	if (opt.workers == 1) {
		long pins = pins_settle(SETTLE_MS);

		if (pins) {
			printf("FAIL: %+ld pages still pinned after the kill\n", pins);
			fig.pins_leaked += pins;
			failed = true;
			stop_all();
			return;
		}
	}
	if (!(opt.ops && shared->w[index].ops_done >= opt.ops) && now_ms() < deadline_ms)
		start_worker(index, workers[index].gen + 1);
	else
		workers[index].done = true;
}

static bool all_done(void)
{
	unsigned int i;

	for (i = 0; i < opt.workers; i++)
		if (!workers[i].done)
			return false;
	return true;
}

/* Debugfs directories of VMs of any worker ever started; @say: print them. */
static int leftover_vm_dirs(bool say)
{
	DIR *dir = opendir("/sys/kernel/debug/kvm");
	struct dirent *e;
	int n = 0, pid;
	uint64_t i;

	if (!dir) {
		if (say)
			printf("FAIL: cannot list /sys/kernel/debug/kvm: %s\n", strerror(errno));
		return -1;
	}
	while ((e = readdir(dir))) {
		if (sscanf(e->d_name, "%d-", &pid) != 1)
			continue;
		for (i = 0; i < fig.started; i++) {
			if (fig.pids[i] != pid)
				continue;
			if (say)
				printf("FAIL: /sys/kernel/debug/kvm/%s is left\n", e->d_name);
			n++;
		}
	}
	closedir(dir);
	return n;
}

static void print_figures(uint64_t elapsed_ms)
{
	uint64_t ops[NR_OPS] = { 0 }, res[NR_RESULTS] = { 0 }, all = 0;
	uint64_t created = 0, closed = 0, violations = 0, busy = 0, leaked_kb = 0;
	unsigned int i, k, r;

	for (i = 0; i < opt.workers; i++) {
		struct wshared *sh = &shared->w[i];

		for (k = 0; k < NR_OPS; k++) {
			for (r = 0; r < NR_RESULTS; r++) {
				ops[k] += sh->counts[k][r];
				res[r] += sh->counts[k][r];
				all += sh->counts[k][r];
			}
		}
		created += sh->vms_created;
		closed += sh->vms_closed;
		violations += sh->violations;
		busy += sh->busy_vcpu;
		leaked_kb += sh->vmlck_leaked_kb;
	}
	printf("FIGURES\n");
	printf("  time: %lu.%03lu s, workers %u, seed %lu\n", elapsed_ms / 1000,
	       elapsed_ms % 1000, opt.workers, opt.seed);
	printf("  operations: %lu\n", all);
	for (k = 0; k < NR_OPS; k++) {
		printf("    %-12s %8lu ", op_info[k].name, ops[k]);
		for (r = 0; r < NR_RESULTS; r++) {
			uint64_t n = 0;

			for (i = 0; i < opt.workers; i++)
				n += shared->w[i].counts[k][r];
			if (n)
				printf(" %s %lu", results[r].name, n);
		}
		printf("\n");
	}
	printf("  results:");
	for (r = 0; r < NR_RESULTS; r++)
		printf(" %s %lu", results[r].name, res[r]);
	printf("\n  EBUSY because the vCPU thread was in KVM_RUN: %lu\n", busy);
	printf("  kills: %lu (inside the big LOCK: %lu, big LOCK missed: %lu)\n",
	       fig.kills, fig.big_kills, fig.big_missed);
	printf("  VMs created: %lu, closed: %lu\n", created, closed);
	printf("  workers started: %lu\n", fig.started);
	printf("  seeds: run %lu;", opt.seed);
	for (i = 0; i < fig.started && i < 64; i++)
		printf(" %lu", fig.seeds[i]);
	printf("%s\n", fig.started > 64 ? " ..." : "");
	printf("  invariant violations: %lu\n", violations);
	printf("  worker failures: %lu, hangs: %lu\n", fig.failures, fig.hangs);
	printf("  pins leaked: %ld\n", fig.pins_leaked);
	printf("  VmLck leaked: %lu kB\n", leaked_kb);
	if (violations || leaked_kb)
		failed = true;
}

static void usage(const char *name)
{
	fprintf(stderr,
		"Usage: %s [-s SEED] [-t SECONDS] [-p WORKERS] [-n OPS] [-k] [-b BIG_MIB] [-q]\n"
		"  -s SEED     seed of every random choice (default: from the time)\n"
		"  -t SECONDS  run time (default 30)\n"
		"  -p WORKERS  worker VMMs, 1-%d (default 3)\n"
		"  -n OPS      stop each worker after OPS operations (default: none)\n"
		"  -k          SIGKILL workers now and then, and replace them\n"
		"  -b BIG_MIB  worker 0's big memslot, 1-1024 MiB (default 64)\n"
		"  -q          quiet: no line per kill\n", name, MAX_WORKERS);
	exit(KSFT_FAIL);
}

static uint64_t parse_num(const char *arg, uint64_t min, uint64_t max,
			  const char *name)
{
	char *end;
	uint64_t val;

	errno = 0;
	val = strtoull(arg, &end, 0);
	if (errno || end == arg || *end || val < min || val > max)
		usage(name);
	return val;
}

static void parse_args(int argc, char *argv[])
{
	bool seeded = false;
	int c;

	while ((c = getopt(argc, argv, "s:t:p:n:kb:qh")) != -1) {
		switch (c) {
		case 's':
			opt.seed = parse_num(optarg, 0, ~0ULL, argv[0]);
			seeded = true;
			break;
		case 't':
			opt.seconds = parse_num(optarg, 1, 86400, argv[0]);
			break;
		case 'p':
			opt.workers = parse_num(optarg, 1, MAX_WORKERS, argv[0]);
			break;
		case 'n':
			opt.ops = parse_num(optarg, 0, ~0ULL, argv[0]);
			break;
		case 'k':
			opt.kill = true;
			break;
		case 'b':
			opt.big_mib = parse_num(optarg, 1, 1024, argv[0]);
			break;
		case 'q':
			opt.quiet = true;
			break;
		default:
			usage(argv[0]);
		}
	}
	if (optind != argc)
		usage(argv[0]);
	/* Short enough to type again. */
	if (!seeded)
		opt.seed = splitmix64(now_ns() ^ getpid()) % 1000000000;
}

/* Root, KVM with the capability, debugfs and exact vmstat: or say why not. */
static void check_environment(void)
{
	if (geteuid()) {
		printf("memslot_lock_stress: must run as root (CAP_IPC_LOCK, debugfs, vmstat)\n");
		printf("memslot_lock_stress: FAIL\n");
		exit(KSFT_FAIL);
	}
	if (kvm_check_cap(KVM_CAP_ARM_LOCK_USER_MEMORY_REGION) != 1) {
		printf("memslot_lock_stress: no KVM_CAP_ARM_LOCK_USER_MEMORY_REGION: skip\n");
		exit(KSFT_SKIP);
	}
	if (access("/sys/kernel/debug/kvm", F_OK))
		mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	pins_baseline = pins_now();
	if (access("/sys/kernel/debug/kvm", F_OK) || pins_baseline < 0) {
		printf("memslot_lock_stress: no /sys/kernel/debug/kvm, or no exact pin counts\n");
		printf("memslot_lock_stress: FAIL\n");
		exit(KSFT_FAIL);
	}
}

int main(int argc, char *argv[])
{
	uint64_t start, next_kill, end, rng;
	unsigned int i;

	/* Workers and parent write to the same stdout: whole lines each. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	parse_args(argc, argv);
	printf("seed %lu\n", opt.seed);
	fflush(stdout);
	check_environment();
	shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(shared != MAP_FAILED, "mmap: %s", strerror(errno));
	/* The parent's choices come from the seed too, apart from the workers'. */
	rng = derive_seed(opt.seed, MAX_WORKERS, 0);
	start = now_ms();
	deadline_ms = start + opt.seconds * 1000ULL;
	next_kill = start + 1000 + rnd_below(&rng, 2000);

	for (i = 0; i < opt.workers; i++)
		start_worker(i, 0);
	while (!all_done() && !failed && now_ms() < deadline_ms) {
		reap_workers();
		if (opt.kill && now_ms() >= next_kill && !failed) {
			kill_one(&rng);
			next_kill = now_ms() + 1000 + rnd_below(&rng, 2000);
		}
		usleep(10000);
	}

	/* Time is up: the workers finish their operation and close their VM. */
	stop_all();
	for (i = 0; i < opt.workers; i++) {
		if (workers[i].pid && !wait_worker(i, GRACE_MS)) {
			/* Reported; if even SIGKILL cannot end it, leave it. */
			kill(workers[i].pid, SIGKILL);
			for (end = now_ms() + SETTLE_MS; now_ms() < end; usleep(10000))
				if (waitpid(workers[i].pid, NULL, WNOHANG))
					break;
		}
	}
	if (opt.kill && !fig.big_kills && !failed) {
		printf("FAIL: no kill landed inside worker 0's big LOCK (%lu missed)\n",
		       fig.big_missed);
		failed = true;
	}

	fig.pins_leaked = pins_settle(SETTLE_MS);
	if (fig.pins_leaked) {
		printf("FAIL: %+ld pages still pinned at the end\n", fig.pins_leaked);
		failed = true;
	}
	/* A VM whose VMM was killed goes when its last fd does: soon. */
	end = now_ms() + SETTLE_MS;
	while (leftover_vm_dirs(false) && now_ms() < end)
		usleep(10000);
	if (leftover_vm_dirs(true))
		failed = true;
	print_figures(now_ms() - start);
	printf("memslot_lock_stress: %s\n", failed ? "FAIL" : "PASS");
	return failed ? KSFT_FAIL : KSFT_PASS;
}
