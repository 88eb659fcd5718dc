/*
 * PSMigration test guest: a freestanding multiboot kernel that fills memory
 * with a verifiable, incompressible pattern, keeps dirtying pages at a given
 * rate and continuously re-verifies everything, reporting on COM1.
 *
 * Runs in 64-bit ring 3 on an identity map set up by boot.S (see there for
 * why), one CPU, no interrupts, no libc/libgcc. Physical addresses are below
 * 4 GiB. See README.md for the command line and the serial output format.
 */

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef unsigned long uptr;

#define PAGE_SIZE      4096u
#define PAGE_WORDS     (PAGE_SIZE / 8u) /* 64-bit words per page */
#define PAGES_PER_MIB  256u
#define ONE_MIB        0x100000u

/* Pages handled per main-loop step. Small enough for a responsive heartbeat
 * even under TCG; equal sizes give verification at least half of the CPU. */
#define VERIFY_CHUNK   64u
#define DIRTY_CHUNK    64u
/* Unused dirty credit is capped so a stall does not turn into a long burst. */
#define MAX_BACKLOG_MS 100u

/* ------------------------------------------------------------------ */
/* Port I/O and TSC (IOPL 3 lets ring 3 use in/out)                   */

static inline void outb(u16 port, u8 val)
{
    __asm__ volatile("outb %0, %1" : : "a"(val), "Nd"(port));
}

static inline u8 inb(u16 port)
{
    u8 val;
    __asm__ volatile("inb %1, %0" : "=a"(val) : "Nd"(port));
    return val;
}

static inline u64 rdtsc(void)
{
    u32 lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((u64)hi << 32) | lo;
}

/* Ring 3 may not hlt, so a stopped guest just spins. */
static void halt_forever(void)
{
    for (;;)
        __asm__ volatile("pause");
}

/* ------------------------------------------------------------------ */
/* Serial console: COM1, 115200 8N1, polled                            */

#define COM1 0x3F8

static void serial_init(void)
{
    outb(COM1 + 1, 0x00); /* no UART interrupts: we poll */
    outb(COM1 + 3, 0x80); /* DLAB on to set the divisor */
    outb(COM1 + 0, 0x01); /* divisor 1 = 115200 baud */
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x03); /* 8 data bits, no parity, 1 stop bit */
    outb(COM1 + 2, 0xC7); /* enable and clear FIFOs */
    outb(COM1 + 4, 0x03); /* DTR + RTS */
}

static void put_char(char c)
{
    while (!(inb(COM1 + 5) & 0x20)) /* wait for transmit holding register empty */
        ;
    outb(COM1, (u8)c);
}

static void put_str(const char *s)
{
    while (*s)
        put_char(*s++);
}

static void put_dec(u32 v)
{
    char buf[10];
    int n = 0;

    do {
        buf[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        put_char(buf[--n]);
}

static void put_hex(u32 v)
{
    put_str("0x");
    for (int shift = 28; shift >= 0; shift -= 4)
        put_char("0123456789abcdef"[(v >> shift) & 0xF]);
}

/* ------------------------------------------------------------------ */
/* Multiboot info and command line                                     */

#define MB_BOOT_MAGIC   0x2BADB002u
#define MB_INFO_MEMORY  (1u << 0)
#define MB_INFO_CMDLINE (1u << 2)
#define MB_INFO_MMAP    (1u << 6)

struct mb_info {
    u32 flags;
    u32 mem_lower, mem_upper; /* KiB below 640K / above 1 MiB */
    u32 boot_device;
    u32 cmdline;
    u32 mods_count, mods_addr;
    u32 syms[4];
    u32 mmap_length, mmap_addr;
};

struct mb_mmap_entry {
    u32 size; /* size of the rest of the entry */
    u64 addr, len;
    u32 type; /* 1 = usable RAM */
} __attribute__((packed));

struct config {
    u32 dirty_mib; /* MiB/s to dirty */
    u32 mem_mib;   /* MiB of test pattern, 0 = all that fits */
    u32 beat_ms;   /* heartbeat period */
};

/* Parses "key=N" if the token [tok, end) starts with key; ignores other tokens
 * (QEMU puts the kernel file name first on the command line). */
static void parse_option(const char *tok, const char *end, const char *key, u32 *out)
{
    u32 v = 0;

    for (; *key; key++, tok++)
        if (tok == end || *tok != *key)
            return;
    if (tok == end)
        return;
    for (; tok != end; tok++) {
        if (*tok < '0' || *tok > '9')
            return;
        if (v > 429496728u) /* keep v * 10 + 9 within 32 bits */
            return;
        v = v * 10 + (u32)(*tok - '0');
    }
    *out = v;
}

static void parse_cmdline(const char *s, struct config *cfg)
{
    while (*s) {
        const char *tok;

        while (*s == ' ')
            s++;
        tok = s;
        while (*s && *s != ' ')
            s++;
        parse_option(tok, s, "dirty=", &cfg->dirty_mib);
        parse_option(tok, s, "mem=", &cfg->mem_mib);
        parse_option(tok, s, "beat=", &cfg->beat_ms);
    }
}

/* End of the usable RAM block that contains 1 MiB. The memory map (from the
 * BIOS e820) excludes the ACPI tables at the top of low RAM; mem_upper does
 * not, so it is only the fallback. Everything stays below 4 GiB. */
static u32 ram_top(const struct mb_info *mbi)
{
    if (mbi->flags & MB_INFO_MMAP) {
        uptr at = mbi->mmap_addr, end = at + mbi->mmap_length;

        while (at < end) {
            const struct mb_mmap_entry *e = (const struct mb_mmap_entry *)at;
            u64 top = e->addr + e->len;

            if (e->type == 1 && e->addr <= ONE_MIB && top > ONE_MIB)
                return top > 0xFFFFF000u ? 0xFFFFF000u : (u32)top;
            at += e->size + 4;
        }
    }
    if (mbi->flags & MB_INFO_MEMORY)
        return ONE_MIB + mbi->mem_upper * 1024u;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Time: TSC calibrated against PIT channel 2                          */

#define PIT_HZ 1193182u

static u32 tsc_khz; /* TSC ticks per millisecond */
static u64 tsc_start;

/* Counts TSC ticks during PIT channel 2 one-shots (port 0x61 bit 0 gates
 * the channel, bit 5 reads its output, which goes high at terminal count).
 * A preempted vCPU can only make a shot look longer (t0 is read before the
 * count is armed), so the shortest of several shots is the best estimate.
 * 8 x 25 ms keeps boot fast. */
static u32 calibrate_tsc_khz(void)
{
    const u32 shot_ms = 25, shots = 8;
    const u32 latch = PIT_HZ / 1000 * shot_ms;
    u8 saved = inb(0x61);
    u64 best = ~0ull;

    for (u32 i = 0; i < shots; i++) {
        u64 t0, ticks;

        outb(0x61, (u8)((saved & ~0x02) | 0x01)); /* gate on, speaker off */
        outb(0x43, 0xB0); /* channel 2, lo/hi byte, mode 0 (one-shot) */
        outb(0x42, (u8)latch);
        t0 = rdtsc();
        outb(0x42, (u8)(latch >> 8)); /* writing the high byte starts the count */
        while (!(inb(0x61) & 0x20))
            ;
        ticks = rdtsc() - t0;
        if (ticks < best)
            best = ticks;
    }
    outb(0x61, saved);
    return (u32)(best / shot_ms);
}

static u64 now_ms(void)
{
    return (rdtsc() - tsc_start) / tsc_khz;
}

/* ------------------------------------------------------------------ */
/* Test pattern: page content is a pure function of (page, generation)  */

static u32 *gen_table; /* generation per page; lives in guest RAM too */
static u8 *pages;      /* first test page, page aligned */
static u32 npages;     /* multiple of PAGES_PER_MIB */

#define GOLDEN 0x9E3779B97F4A7C15ull

/* SplitMix64's finalizer: a cheap bijective mixer whose output looks random,
 * so QEMU can neither skip the pages as zero nor compress them. */
static inline u64 mix64(u64 z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Distinct (page, gen) pairs give distinct seeds, since mix64 is a bijection. */
static inline u64 page_seed(u32 page, u32 gen)
{
    return mix64(((u64)gen << 32) | page);
}

/* Word i of a page is the i-th SplitMix64 output for its seed. Every word is
 * independent of the previous one, so the CPU can overlap the iterations. */
static inline u64 page_word(u64 seed, u32 i)
{
    return mix64(seed + (i + 1) * GOLDEN);
}

static inline u64 *page_words(u32 page)
{
    return (u64 *)(pages + (uptr)page * PAGE_SIZE);
}

static void write_page(u32 page)
{
    u64 *w = page_words(page);
    u64 seed = page_seed(page, gen_table[page]);

    for (u32 i = 0; i < PAGE_WORDS; i++)
        w[i] = page_word(seed, i);
}

/* Index of the first word that differs from the expected content, or
 * PAGE_WORDS if the page is intact. The fast path ORs all differences so
 * the loop has no data-dependent branch. */
static u32 check_page(u32 page)
{
    const u64 *w = page_words(page);
    u64 seed = page_seed(page, gen_table[page]);
    u64 diff = 0;

    for (u32 i = 0; i < PAGE_WORDS; i++)
        diff |= w[i] ^ page_word(seed, i);
    if (!diff)
        return PAGE_WORDS;
    for (u32 i = 0; i < PAGE_WORDS; i++)
        if (w[i] != page_word(seed, i))
            return i;
    return PAGE_WORDS; /* changed under us; cannot happen on one CPU */
}

/* Lays out [generation table][pages] from the first page after the image up
 * to ram_top. The multiboot info may lie there too; it is parsed by now. */
static int setup_area(u32 top, u32 mem_mib)
{
    extern char _end[];
    u32 base = ((u32)(uptr)_end + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
    u32 avail, max_pages, table_bytes;

    if (top <= base + 2 * PAGE_SIZE)
        return 0;
    avail = top - base - PAGE_SIZE; /* one page of slack for table rounding */
    max_pages = avail / (PAGE_SIZE + sizeof(u32));
    max_pages -= max_pages % PAGES_PER_MIB;
    if (mem_mib && mem_mib < max_pages / PAGES_PER_MIB)
        npages = mem_mib * PAGES_PER_MIB;
    else
        npages = max_pages;
    if (!npages)
        return 0;

    table_bytes = (npages * sizeof(u32) + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
    gen_table = (u32 *)(uptr)base;
    pages = (u8 *)(uptr)(base + table_bytes);
    return 1;
}

static void fill_all(void)
{
    for (u32 p = 0; p < npages; p++) {
        gen_table[p] = 0;
        write_page(p);
    }
}

/* ------------------------------------------------------------------ */
/* Main loop: dirtying, verification, heartbeat                        */

static u32 verify_cursor, passes, failed;
static u32 dirty_cursor, dirty_credit; /* credit in page-milliseconds */
static u64 dirtied_pages, last_dirty_ms;
static u32 beats;
static u64 next_beat_ms;

static void report_fail(u32 page, u32 word)
{
    put_str("MEMCHECK FAIL page=");
    put_dec(page);
    put_str(" expected-gen=");
    put_dec(gen_table[page]);
    put_str(" at=");
    put_hex((u32)(uptr)(page_words(page) + word));
    put_str("\n");
}

/* Checks up to VERIFY_CHUNK pages. Only the first failure is reported and
 * OK is never printed after it, so a single FAIL line is conclusive. */
static void verify_step(void)
{
    for (u32 n = 0; n < VERIFY_CHUNK; n++) {
        u32 p = verify_cursor;
        u32 bad = check_page(p);

        if (bad != PAGE_WORDS && !failed) {
            failed = 1;
            report_fail(p, bad);
        }
        if (++verify_cursor < npages)
            continue;
        verify_cursor = 0;
        passes++;
        if (!failed) {
            put_str("MEMCHECK OK pass=");
            put_dec(passes);
            put_str("\n");
        }
    }
}

/* Rewrites whole pages with the next generation, one page per 1000
 * page-milliseconds of credit, i.e. rate_pages per second. */
static void dirty_step(u64 now, u32 rate_pages)
{
    u32 elapsed = (u32)(now - last_dirty_ms > MAX_BACKLOG_MS ? MAX_BACKLOG_MS
                                                              : now - last_dirty_ms);
    u32 cap = rate_pages * MAX_BACKLOG_MS;

    last_dirty_ms = now;
    dirty_credit += elapsed * rate_pages;
    if (dirty_credit > cap)
        dirty_credit = cap;
    for (u32 n = 0; n < DIRTY_CHUNK && dirty_credit >= 1000; n++) {
        u32 p = dirty_cursor;

        gen_table[p]++;
        write_page(p);
        dirty_cursor = p + 1 < npages ? p + 1 : 0;
        dirtied_pages++;
        dirty_credit -= 1000;
    }
}

static void heartbeat_step(u64 now, u32 beat_ms)
{
    if (now < next_beat_ms)
        return;
    beats++;
    put_str("HEARTBEAT ");
    put_dec(beats);
    put_str(" dirtied=");
    put_dec((u32)(dirtied_pages / PAGES_PER_MIB));
    put_str(" passes=");
    put_dec(passes);
    put_str("\n");
    next_beat_ms += beat_ms;
    if (next_beat_ms <= now) /* fell behind (e.g. VM paused): do not catch up */
        next_beat_ms = now + beat_ms;
}

static void run(const struct config *cfg)
{
    /* Clamp so rate * MAX_BACKLOG_MS stays within 32 bits. */
    u32 rate_pages = (cfg->dirty_mib > 65535 ? 65535 : cfg->dirty_mib) * PAGES_PER_MIB;
    u32 beat_ms = cfg->beat_ms ? cfg->beat_ms : 1000;

    last_dirty_ms = now_ms();
    next_beat_ms = last_dirty_ms + beat_ms;
    for (;;) {
        u64 now = now_ms();

        heartbeat_step(now, beat_ms);
        if (rate_pages)
            dirty_step(now, rate_pages);
        verify_step();
    }
}

void main(u32 magic, u32 info);

void main(u32 magic, u32 info)
{
    const struct mb_info *mbi = (const struct mb_info *)(uptr)info;
    struct config cfg = { 0, 0, 1000 };

    serial_init();
    if (magic != MB_BOOT_MAGIC) {
        put_str("GUEST ERROR not started by a multiboot loader\n");
        halt_forever();
    }
    if (mbi->flags & MB_INFO_CMDLINE)
        parse_cmdline((const char *)(uptr)mbi->cmdline, &cfg);
    if (!setup_area(ram_top(mbi), cfg.mem_mib)) {
        put_str("GUEST ERROR not enough memory\n");
        halt_forever();
    }

    put_str("GUEST START mem=");
    put_dec(npages / PAGES_PER_MIB);
    put_str(" dirty=");
    put_dec(cfg.dirty_mib);
    put_str("\n");

    tsc_khz = calibrate_tsc_khz();
    tsc_start = rdtsc();
    put_str("TSC ");
    put_dec(tsc_khz / 1000);
    put_str(" MHz\n");

    fill_all();
    put_str("FILLED ");
    put_dec(npages / PAGES_PER_MIB);
    put_str(" MiB\n");

    run(&cfg);
}
