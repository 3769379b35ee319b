/*
 * layout.h - the heap's on-media layout: plain structs and offsets, nothing
 * about DRAM state. Offsets are device offsets; pointers appear only at the
 * API edge. Fields that are rewritten during the heap's life each sit in a
 * 64-byte line of their own, so their wear is attributed to one kind and does
 * not pile onto a neighbour's cell.
 *
 *   device offset 0      heap header (4 KiB): fields in lines 0..4, the hwm
 *                        ring in lines 32..63 (layout 5)
 *   4096 ..              persistence "log" only: the log region (log_kib KiB)
 *                        (gc: nothing; small arenas hold fixed slots of their
 *                        class's size, so object starts follow from the class)
 *   .. arena base        the bad-block map: 2 bits per 64-byte line of the
 *                        device (failed, retired), 4 KiB-rounded (badmap.c)
 *   arena base .. hwm    arenas, each 4 KiB-aligned, laid end to end
 *
 * Arena (small classes):
 *   header (lines 0..10) | alloc bitmap | start bitmap | data area
 * Arena (large class): header | data area (one object; no bitmaps). The
 * object word {live, sequence, requested size} is written per get and
 * return into the next of the 8 lines 3..10 in turn (small arenas' intent
 * slots), so a large object allocated and freed over and over does not
 * wear one cell; the latest sequence is the state.
 *
 * Intent log word (one per log slot; 8 slots, one line each, used in turn):
 *   bits 63..62 op (0 none, 1 alloc, 2 free) | 61..56 sequence (mod 64) |
 *   55..28 first unit | 27..0 number of units
 */
#ifndef PMARENA_ALLOCATOR_LAYOUT_H
#define PMARENA_ALLOCATOR_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#define PMA_HEAP_MAGIC 0x50454548414d5050ull    /* "PPMAHEEP" */
#define PMA_ARENA_MAGIC 0x414e455241414d50ull   /* "PMAARENA" */
#define PMA_LAYOUT_VERSION 5u          /* 2: the bad-block map region; 3: the arena resize word;
                                          4: CRC-32 header sums (FNV-1a before);
                                          5: hwm moves round a ring of header lines */
#define PMA_LAYOUT_OLDEST 2u           /* 2 reads as 3 (no arena was ever resized there) */
#define PMA_HEAP_HEADER_SIZE 4096u
#define PMA_ARENA_ALIGN 4096u
#define PMA_LINE 64u
#define PMA_LOG_SLOTS 8
#define PMA_MAX_UNITS ((1u << 28) - 1)        /* units per arena: fits the log word */
#define PMA_GC_CLEAN 0x4e41454c43434770ull     /* "pGCCLEAN" */

typedef struct pma_heap_header {
    /* line 0: written once, at init (kind: header) */
    uint64_t magic;
    uint32_t version;
    uint32_t granularity;
    uint32_t alignment;
    uint8_t policy, bitmap_layout, metadata, wear_spread_percent;
    uint64_t arena_size;
    uint64_t device_size;
    uint8_t persistence;          /* pma_persistence */
    uint8_t reserved1[3];
    uint32_t log_kib;             /* log: size of the log region */
    uint64_t checksum;            /* of the bytes before it */
    uint8_t pad0[8];
    /* line 1: end of the last arena; moves when an arena is created
     * (header). From layout 5 only init writes it, and each move goes to
     * the next line of the hwm ring (below). */
    uint64_t hwm;
    uint8_t pad1[56];
    /* line 2: the persistent root, an offset, 0 for none (root) */
    uint64_t root;
    uint8_t pad2[56];
    /* line 3: heads of the class lists, metadata "nvram" only (list) */
    uint64_t list_head[8];
    /* line 4: log: the current epoch and the chunk it starts at; rewritten
     * at each checkpoint (log) */
    uint64_t log_epoch;
    uint64_t log_start;
    /* gc: PMA_GC_CLEAN while the bitmaps and object words hold the live set
     * (set by a clean close, cleared when the heap is opened again) */
    uint64_t gc_clean;
    uint8_t pad4[40];
} pma_heap_header;

/* The hwm ring (layout 5): header lines 32..63, one 8-byte hwm each,
 * written in turn. One line took every arena creation: a heap that grows
 * 500 times wore it out on a device of endurance 500 within the first pass
 * of the sqlite3 trace, and the run ended there. hwm only grows, so the
 * current one is the largest of line 1 and the ring: no sequence number,
 * and a slot whose line wore out keeps a smaller, older value. */
#define PMA_HWM_RING_OFF 2048u
#define PMA_HWM_RING_SLOTS 32u

/* The heap's hwm as the header of layout `version` at `base` holds it, and
 * in *where the offset of the word it came from. */
static inline uint64_t pma_header_hwm(const void *base, uint32_t version, uint64_t *where)
{
    const unsigned char *b = base;
    uint64_t hwm, at = offsetof(pma_heap_header, hwm);
    __builtin_memcpy(&hwm, b + at, 8);
    for (unsigned i = 0; version >= 5 && i < PMA_HWM_RING_SLOTS; i++) {
        uint64_t w;
        __builtin_memcpy(&w, b + PMA_HWM_RING_OFF + (uint64_t)i * 64, 8);
        if (w > hwm) {
            hwm = w;
            at = PMA_HWM_RING_OFF + (uint64_t)i * 64;
        }
    }
    if (where)
        *where = at;
    return hwm;
}

typedef struct pma_log_slot {
    uint64_t word;
    uint8_t pad[56];
} pma_log_slot;

typedef struct pma_arena_header {
    /* line 0: written when the arena is created (header) */
    uint64_t magic;
    uint64_t size;                /* arena bytes */
    uint32_t units;               /* bits per bitmap; 0 for a large arena */
    uint32_t bitmap_bytes;        /* bytes of each bitmap */
    uint32_t alloc_off;           /* from the arena start */
    uint32_t start_off;
    uint32_t data_off;
    uint32_t reserved;
    uint64_t checksum;            /* of the bytes before it */
    uint64_t class_word;          /* size class; rewritten when an empty arena is reused */
    uint8_t pad0[8];
    /* line 1: list links, metadata "nvram" only (list) */
    uint64_t prev, next;
    uint8_t pad1[48];
    /* line 2: the resize word (large arenas): 0, or the arena's size now,
     * which replaces `size` above (pma_resize_pack). Free large arenas are
     * split and merged with one 8-byte store here (space.c); line 0 is
     * never rewritten. */
    uint64_t resize;
    uint8_t pad2[56];
    /* lines 3..10: the intent log (log) */
    pma_log_slot log[PMA_LOG_SLOTS];
} pma_arena_header;

#define PMA_OBJECT_LIVE (1ull << 63)
#define PMA_OBJECT_SEQ_SHIFT 48
#define PMA_OBJECT_SIZE_MASK ((1ull << 48) - 1)

/* Large object word: live bit 63 | sequence 1..32767 (bits 62..48) |
 * requested bytes (47..0). 0: never written. */
static inline uint64_t pma_object_pack(bool live, unsigned seq, uint64_t requested)
{
    return (live ? PMA_OBJECT_LIVE : 0) | ((uint64_t)(seq & 0x7fff) << PMA_OBJECT_SEQ_SHIFT) |
           (requested & PMA_OBJECT_SIZE_MASK);
}
static inline unsigned pma_object_seq(uint64_t w) { return (unsigned)(w >> PMA_OBJECT_SEQ_SHIFT) & 0x7fff; }
static inline unsigned pma_object_next_seq(unsigned seq) { return seq >= 0x7fff ? 1 : seq + 1; }

enum { PMA_OP_NONE = 0, PMA_OP_ALLOC = 1, PMA_OP_FREE = 2 };

/* Resize word: a tag in the top 16 bits, so a torn or foreign word is not
 * taken for a size, and the size in 4 KiB pages below. */
#define PMA_RESIZE_TAG 0x525aull        /* "RZ" */
static inline uint64_t pma_resize_pack(uint64_t size) { return PMA_RESIZE_TAG << 48 | (size / 4096); }
/* The size a resize word gives; 0 when the word is not one. */
static inline uint64_t pma_resize_size(uint64_t w)
{
    return (w >> 48) == PMA_RESIZE_TAG ? (w & ((1ull << 48) - 1)) * 4096 : 0;
}

static inline uint64_t pma_log_pack(unsigned op, unsigned seq, uint32_t first, uint32_t n)
{
    return ((uint64_t)op << 62) | ((uint64_t)(seq & 63) << 56) |
           ((uint64_t)first << 28) | (uint64_t)n;
}
static inline unsigned pma_log_op(uint64_t w) { return (unsigned)(w >> 62); }
static inline unsigned pma_log_seq(uint64_t w) { return (unsigned)(w >> 56) & 63; }
static inline uint32_t pma_log_first(uint64_t w) { return (uint32_t)(w >> 28) & PMA_MAX_UNITS; }
static inline uint32_t pma_log_count(uint64_t w) { return (uint32_t)w & PMA_MAX_UNITS; }

/* FNV-1a over a header's static part: the sum of layouts 2 and 3, kept so
 * their heaps still open. */
static inline uint64_t pma_checksum_fnv(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

/* The sum a header of layout `version` carries over its static part (heap
 * header and arena headers alike): from layout 4 zlib's CRC-32, a real
 * error-detecting code (every burst of up to 32 flipped bits is caught,
 * which FNV does not promise). */
static inline uint64_t pma_checksum(uint32_t version, const void *p, size_t n)
{
    if (version < 4)
        return pma_checksum_fnv(p, n);
    return crc32_z(crc32_z(0, Z_NULL, 0), p, n);
}

_Static_assert(offsetof(pma_heap_header, hwm) == 64, "hwm has its own line");
_Static_assert(offsetof(pma_heap_header, root) == 128, "root has its own line");
_Static_assert(offsetof(pma_heap_header, list_head) == 192, "list heads have their own line");
_Static_assert(offsetof(pma_heap_header, log_epoch) == 256, "the log epoch has its own line");
_Static_assert(sizeof(pma_heap_header) <= PMA_HWM_RING_OFF &&
                   PMA_HWM_RING_OFF + PMA_HWM_RING_SLOTS * 64 <= PMA_HEAP_HEADER_SIZE,
               "the hwm ring fits in the header, after its fields");
_Static_assert(offsetof(pma_arena_header, prev) == 64, "links have their own line");
_Static_assert(offsetof(pma_arena_header, resize) == 128, "the resize word has its own line");
_Static_assert(offsetof(pma_arena_header, log) == 192, "log slots start at line 3");
_Static_assert(sizeof(pma_arena_header) == 704, "11 lines");

/* Log protocol record (16 bytes, two 8-byte stores, in a 16-byte aligned
 * slot of the log region):
 *   word 0: op (2 bits) | epoch mod 2^14 | device offset of the block (48 bits)
 *   word 1: epoch mod 2^32 | slot generation mod 2^20 | units - 1 (12 bits)
 * A record counts only when both words carry the current epoch: a torn one
 * (one word stored, the other still an older epoch's) does not. */
#define PMA_LOG_CHUNK 4096u          /* bytes a thread claims at a time */
#define PMA_LOG_REC 16u
#define PMA_GEN_MASK 0xfffffu

/* A record's epoch bits in its two words (a log writer keeps them per chunk). */
static inline uint64_t pma_rec_epoch0(uint64_t epoch) { return (epoch & 0x3fff) << 48; }
static inline uint64_t pma_rec_epoch1(uint64_t epoch) { return (epoch & 0xffffffffull) << 32; }
static inline uint64_t pma_rec_word0_e(unsigned op, uint64_t epoch0, uint64_t off)
{
    return ((uint64_t)op << 62) | epoch0 | (off & 0xffffffffffffull);
}
static inline uint64_t pma_rec_word1_e(uint64_t epoch1, uint32_t gen, uint32_t n)
{
    return epoch1 | ((uint64_t)(gen & PMA_GEN_MASK) << 12) | ((n - 1) & 0xfff);
}
static inline void pma_rec_pack(uint64_t w[2], unsigned op, uint64_t epoch, uint64_t off, uint32_t gen, uint32_t n)
{
    w[0] = pma_rec_word0_e(op, pma_rec_epoch0(epoch), off);
    w[1] = pma_rec_word1_e(pma_rec_epoch1(epoch), gen, n);
}
static inline bool pma_rec_valid(const uint64_t w[2], uint64_t epoch)
{
    return (w[0] >> 62) != 0 && ((w[0] >> 48) & 0x3fff) == (epoch & 0x3fff) &&
           (w[1] >> 32) == (epoch & 0xffffffffull);
}
static inline unsigned pma_rec_op(const uint64_t w[2]) { return (unsigned)(w[0] >> 62); }
static inline uint64_t pma_rec_off(const uint64_t w[2]) { return w[0] & 0xffffffffffffull; }
static inline uint32_t pma_rec_gen(const uint64_t w[2]) { return (uint32_t)(w[1] >> 12) & PMA_GEN_MASK; }
static inline uint32_t pma_rec_units(const uint64_t w[2]) { return (uint32_t)(w[1] & 0xfff) + 1; }
/* a is a later generation than b (both mod 2^20, less than 2^19 apart) */
static inline bool pma_gen_after(uint32_t a, uint32_t b)
{
    uint32_t d = (a - b) & PMA_GEN_MASK;
    return d != 0 && d < (PMA_GEN_MASK + 1) / 2;
}

#endif
