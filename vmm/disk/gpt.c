/* GPT parsing: validate the primary header and entry array, fall back to the backup at the
 * last LBA, then check the entries for consistency before anything is handed to a guest. */
#include "disk/gpt.h"
#include "disk/crc32.h"
#include "lib/log.h"
#include "lib/mem.h"

#define GPT_HEADER_MIN 92u
#define GPT_ENTRY_MIN  128u
#define REASON_MAX     90

/* EFI system partition type C12A7328-F81F-11D2-BA4B-00A0C93EC93B in on-disk order. */
static const uint8_t esp_type[16] = {
    0x28, 0x73, 0x2A, 0xC1, 0x1F, 0xF8, 0xD2, 0x11, 0xBA, 0x4B, 0x00, 0xA0, 0xC9, 0x3E, 0xC9, 0x3B,
};

/* The header fields we use, taken out of the sector once. */
struct gpt_header {
    uint64_t my_lba, first_usable, last_usable, entries_lba;
    uint32_t num_entries, entry_size, entries_crc;
    uint8_t disk_guid[16];
};

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

static void check_protective_mbr(struct blkdev *d, struct gpt_table *t)
{
    const uint8_t *s = t->scratch;
    t->protective_mbr = false;
    if (blkdev_read(d, 0, 1, t->scratch) != BLKDEV_OK || s[510] != 0x55 || s[511] != 0xAA)
        return;
    for (unsigned i = 0; i < 4; i++)
        if (s[446 + 16 * i + 4] == 0xEE)
            t->protective_mbr = true;
}

/* Reads and checks the header at lba; on failure says why in reason. */
static bool read_header(struct blkdev *d, struct gpt_table *t, uint64_t lba, struct gpt_header *h,
                        char *reason)
{
    uint8_t *s = t->scratch;
    uint32_t ss = t->sector_size;
    uint64_t last_lba = t->disk_sectors - 1;

    int err = blkdev_read(d, lba, 1, s);
    if (err) {
        fmt_snprintf(reason, REASON_MAX, "read failed: %s", blkdev_strerror(err));
        return false;
    }
    if (memcmp(s, "EFI PART", 8) != 0) {
        fmt_snprintf(reason, REASON_MAX, "no \"EFI PART\" signature");
        return false;
    }
    uint32_t revision = le32(s + 8);
    if (revision >> 16 != 1) {
        fmt_snprintf(reason, REASON_MAX, "unsupported revision 0x%x", revision);
        return false;
    }
    uint32_t header_size = le32(s + 12);
    if (header_size < GPT_HEADER_MIN || header_size > ss) {
        fmt_snprintf(reason, REASON_MAX, "header size %u outside 92..%u", header_size, ss);
        return false;
    }
    uint32_t stored_crc = le32(s + 16);
    memset(s + 16, 0, 4);
    if (crc32(s, header_size) != stored_crc) {
        fmt_snprintf(reason, REASON_MAX, "header CRC mismatch");
        return false;
    }
    h->my_lba = le64(s + 24);
    h->first_usable = le64(s + 40);
    h->last_usable = le64(s + 48);
    memcpy(h->disk_guid, s + 56, 16);
    h->entries_lba = le64(s + 72);
    h->num_entries = le32(s + 80);
    h->entry_size = le32(s + 84);
    h->entries_crc = le32(s + 88);

    if (h->my_lba != lba) {
        fmt_snprintf(reason, REASON_MAX, "MyLBA %llu, expected %llu",
                     (unsigned long long)h->my_lba, (unsigned long long)lba);
        return false;
    }
    /* The usable range excludes LBA 0, the primary header and the backup header. */
    if (h->first_usable < 2 || h->first_usable > h->last_usable || h->last_usable >= last_lba) {
        fmt_snprintf(reason, REASON_MAX, "usable range %llu..%llu does not fit the disk",
                     (unsigned long long)h->first_usable, (unsigned long long)h->last_usable);
        return false;
    }
    /* 128 * 2^n and at most one sector, so entries never straddle sectors. */
    uint32_t es = h->entry_size;
    if (es < GPT_ENTRY_MIN || es > ss || (es & (es - 1)) != 0) {
        fmt_snprintf(reason, REASON_MAX, "entry size %u unsupported", es);
        return false;
    }
    if (h->num_entries == 0 || h->num_entries > GPT_MAX_ENTRIES) {
        fmt_snprintf(reason, REASON_MAX, "entry count %u outside 1..%u", h->num_entries, GPT_MAX_ENTRIES);
        return false;
    }
    uint64_t array_bytes = (uint64_t)h->num_entries * es;
    uint64_t array_sectors = (array_bytes + ss - 1) / ss;
    /* The array lies between the headers and outside the usable range. */
    bool inside_disk = h->entries_lba >= 2 && h->entries_lba < last_lba &&
                       array_sectors <= last_lba - h->entries_lba;
    uint64_t array_last = h->entries_lba + array_sectors - 1;
    if (!inside_disk || !(array_last < h->first_usable || h->entries_lba > h->last_usable)) {
        fmt_snprintf(reason, REASON_MAX, "entry array at LBA %llu (%llu sectors) misplaced",
                     (unsigned long long)h->entries_lba, (unsigned long long)array_sectors);
        return false;
    }
    return true;
}

/* UTF-16LE, up to 36 units, NUL-terminated or not, to printable ASCII. A surrogate pair is
 * one character and becomes a single '?'. */
static void convert_name(const uint8_t *utf16, char *out)
{
    size_t n = 0;
    for (unsigned i = 0; i < 36 && n < DISK_PART_NAME_MAX - 1; i++) {
        uint16_t u = (uint16_t)(utf16[2 * i] | utf16[2 * i + 1] << 8);
        if (u == 0)
            break;
        if (u >= 0xD800 && u <= 0xDBFF && i + 1 < 36) {
            uint16_t next = (uint16_t)(utf16[2 * i + 2] | utf16[2 * i + 3] << 8);
            if (next >= 0xDC00 && next <= 0xDFFF)
                i++;
        }
        out[n++] = (u >= 0x20 && u < 0x7F) ? (char)u : '?';
    }
    out[n] = 0;
}

/* Reads the entry array of h into t->part, checking its CRC. */
static bool read_entries(struct blkdev *d, struct gpt_table *t, const struct gpt_header *h, char *reason)
{
    uint32_t ss = t->sector_size;
    uint64_t remaining = (uint64_t)h->num_entries * h->entry_size;
    uint32_t crc = crc32_begin();
    uint32_t index = 0;
    bool too_many = false;

    t->count = 0;
    for (uint64_t lba = h->entries_lba; remaining; lba++) {
        int err = blkdev_read(d, lba, 1, t->scratch);
        if (err) {
            fmt_snprintf(reason, REASON_MAX, "entry array read failed at LBA %llu: %s",
                         (unsigned long long)lba, blkdev_strerror(err));
            return false;
        }
        uint32_t bytes = remaining < ss ? (uint32_t)remaining : ss;
        crc = crc32_update(crc, t->scratch, bytes);
        remaining -= bytes;
        for (uint32_t off = 0; off < bytes; off += h->entry_size, index++) {
            const uint8_t *e = t->scratch + off;
            if (all_zero(e, 16))
                continue;
            if (t->count == GPT_MAX_PARTITIONS) {
                too_many = true;
                continue;
            }
            struct gpt_partition *p = &t->part[t->count++];
            p->index = index;
            memcpy(p->type_guid, e, 16);
            memcpy(p->unique_guid, e + 16, 16);
            p->first_lba = le64(e + 32);
            p->last_lba = le64(e + 40);
            p->attributes = le64(e + 48);
            convert_name(e + 56, p->name);
        }
    }
    if (crc32_end(crc) != h->entries_crc) {
        fmt_snprintf(reason, REASON_MAX, "entry array CRC mismatch");
        return false;
    }
    if (too_many) {
        fmt_snprintf(reason, REASON_MAX, "more than %u partitions", GPT_MAX_PARTITIONS);
        return false;
    }
    return true;
}

/* The entries agree with the header and with each other; else the table is refused. */
static bool entries_consistent(struct gpt_table *t)
{
    for (unsigned i = 0; i < t->count; i++) {
        const struct gpt_partition *p = &t->part[i];
        if (p->first_lba > p->last_lba) {
            fmt_snprintf(t->diag, sizeof(t->diag), "GPT refused: entry %u \"%s\" ends (LBA %llu) before it starts (LBA %llu)",
                         p->index + 1, p->name, (unsigned long long)p->last_lba, (unsigned long long)p->first_lba);
            return false;
        }
        if (p->first_lba < t->first_usable || p->last_lba > t->last_usable) {
            fmt_snprintf(t->diag, sizeof(t->diag), "GPT refused: entry %u \"%s\" (LBA %llu..%llu) outside the usable range %llu..%llu",
                         p->index + 1, p->name, (unsigned long long)p->first_lba, (unsigned long long)p->last_lba,
                         (unsigned long long)t->first_usable, (unsigned long long)t->last_usable);
            return false;
        }
        for (unsigned j = 0; j < i; j++) {
            const struct gpt_partition *q = &t->part[j];
            if (p->first_lba <= q->last_lba && q->first_lba <= p->last_lba) {
                fmt_snprintf(t->diag, sizeof(t->diag), "GPT refused: entries %u \"%s\" and %u \"%s\" overlap",
                             q->index + 1, q->name, p->index + 1, p->name);
                return false;
            }
        }
    }
    return true;
}

static void take_header(struct gpt_table *t, const struct gpt_header *h)
{
    t->first_usable = h->first_usable;
    t->last_usable = h->last_usable;
    memcpy(t->disk_guid, h->disk_guid, 16);
}

int gpt_read(struct blkdev *d, struct gpt_table *t)
{
    char primary_reason[REASON_MAX] = "", backup_reason[REASON_MAX] = "";
    struct gpt_header h;

    t->count = 0;
    t->used_backup = false;
    t->diag[0] = 0;
    t->sector_size = d->sector_size;
    t->disk_sectors = d->sector_count;
    if ((d->sector_size != 512 && d->sector_size != 4096) || d->sector_count < 3) {
        fmt_snprintf(t->diag, sizeof(t->diag), "GPT: unusable disk (%llu sectors of %u bytes)",
                     (unsigned long long)d->sector_count, d->sector_size);
        return BLKDEV_EINVAL;
    }
    check_protective_mbr(d, t);

    uint64_t last_lba = d->sector_count - 1;
    if (read_header(d, t, 1, &h, primary_reason) && read_entries(d, t, &h, primary_reason)) {
        take_header(t, &h);
    } else if (read_header(d, t, last_lba, &h, backup_reason) && read_entries(d, t, &h, backup_reason)) {
        take_header(t, &h);
        t->used_backup = true;
        fmt_snprintf(t->diag, sizeof(t->diag), "GPT: primary header bad (%s); using the backup at LBA %llu",
                     primary_reason, (unsigned long long)last_lba);
    } else {
        t->count = 0;
        fmt_snprintf(t->diag, sizeof(t->diag), "no valid GPT: primary: %s; backup: %s",
                     primary_reason, backup_reason);
        return GPT_ENOTABLE;
    }
    if (!entries_consistent(t)) {
        t->count = 0;
        return GPT_EINCONSISTENT;
    }
    return BLKDEV_OK;
}

bool gpt_is_esp(const struct gpt_partition *p)
{
    return memcmp(p->type_guid, esp_type, 16) == 0;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Byte i of the on-disk GUID comes from text byte guid_text_order[i] (counting hex pairs,
 * dashes skipped): the first three groups are stored little-endian. */
static const uint8_t guid_text_order[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };

bool gpt_guid_parse(const char *text, uint8_t guid[16])
{
    uint8_t bytes[16];
    unsigned n = 0;
    for (unsigned i = 0; i < GPT_GUID_TEXT_LEN; i++) {
        if (text[i] == 0)
            return false;
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (text[i] != '-')
                return false;
            continue;
        }
        int v = hex_value(text[i]);
        if (v < 0)
            return false;
        if (n % 2 == 0)
            bytes[n / 2] = (uint8_t)(v << 4);
        else
            bytes[n / 2] |= (uint8_t)v;
        n++;
    }
    if (text[GPT_GUID_TEXT_LEN] != 0)
        return false;
    for (unsigned i = 0; i < 16; i++)
        guid[i] = bytes[guid_text_order[i]];
    return true;
}

void gpt_guid_format(const uint8_t guid[16], char text[GPT_GUID_TEXT_LEN + 1])
{
    static const char digits[] = "0123456789ABCDEF";
    uint8_t bytes[16];
    for (unsigned i = 0; i < 16; i++)
        bytes[guid_text_order[i]] = guid[i];
    unsigned pos = 0;
    for (unsigned i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            text[pos++] = '-';
        text[pos++] = digits[bytes[i] >> 4];
        text[pos++] = digits[bytes[i] & 15];
    }
    text[pos] = 0;
}

static void say(char *why, size_t len, const char *fmt, const char *spec)
{
    if (why && len)
        fmt_snprintf(why, len, fmt, spec);
}

const struct gpt_partition *gpt_find(const struct gpt_table *t, const char *spec, char *why, size_t why_len)
{
    uint8_t guid[16];
    bool by_guid = gpt_guid_parse(spec, guid);
    const struct gpt_partition *found = NULL;
    unsigned matches = 0;

    if (spec[0] == 0) {
        say(why, why_len, "empty partition name%s", "");
        return NULL;
    }
    for (unsigned i = 0; i < t->count && i < GPT_MAX_PARTITIONS; i++) {
        const struct gpt_partition *p = &t->part[i];
        bool match = by_guid ? memcmp(p->unique_guid, guid, 16) == 0 : strcmp(p->name, spec) == 0;
        if (match) {
            found = p;
            matches++;
        }
    }
    if (matches == 0) {
        say(why, why_len, by_guid ? "no partition with GUID %s" : "no partition named \"%s\"", spec);
        return NULL;
    }
    if (matches > 1) {
        say(why, why_len, by_guid ? "several partitions with GUID %s" : "several partitions named \"%s\"", spec);
        return NULL;
    }
    if (gpt_is_esp(found)) {
        say(why, why_len, "partition %s is the EFI system partition, never given to a guest", spec);
        return NULL;
    }
    if (why && why_len)
        why[0] = 0;
    return found;
}
