/* ATA command construction and IDENTIFY parsing (see ata.h). */
#include "drivers/ata.h"
#include "lib/log.h"
#include "lib/mem.h"

/* ATA strings hold two characters per word, the first in the high byte. */
static void ata_string(const uint16_t *words, unsigned nwords, char *out)
{
    unsigned n = 0;
    for (unsigned i = 0; i < nwords; i++) {
        out[n++] = (char)(words[i] >> 8);
        out[n++] = (char)(words[i] & 0xFF);
    }
    out[n] = 0;
    for (unsigned i = 0; i < n; i++)
        if ((unsigned char)out[i] < 0x20 || (unsigned char)out[i] > 0x7E)
            out[i] = '?';
    while (n && out[n - 1] == ' ')
        out[--n] = 0;
}

static bool fail(char *why, size_t why_len, const char *text)
{
    if (why && why_len)
        fmt_snprintf(why, why_len, "%s", text);
    return false;
}

bool ata_parse_identify(const uint16_t id[256], struct ata_identity *out, char *why, size_t why_len)
{
    memset(out, 0, sizeof(*out));
    if (id[0] & 0x8000)
        return fail(why, why_len, "not an ATA device (ATAPI)");
    /* Integrity word: signature 0xA5 in the low byte, then the sum of all 512 bytes is 0. */
    if ((id[255] & 0xFF) == 0xA5) {
        uint8_t sum = 0;
        for (unsigned i = 0; i < 256; i++)
            sum = (uint8_t)(sum + (id[i] & 0xFF) + (id[i] >> 8));
        if (sum != 0)
            return fail(why, why_len, "IDENTIFY data checksum mismatch");
    }
    if (!(id[49] & (1u << 9)))
        return fail(why, why_len, "device does not support LBA");

    /* Words 83/86 are valid when bit 14 is set and bit 15 clear. */
    bool w83_valid = (id[83] & 0xC000) == 0x4000;
    out->lba48 = w83_valid && (id[83] & (1u << 10)) && (id[86] & (1u << 10));   /* supported, enabled */
    out->flush = w83_valid && (id[83] & (1u << 12));
    out->flush_ext = w83_valid && (id[83] & (1u << 13));
    out->write_cache = id[82] != 0xFFFF && (id[82] & (1u << 5)) && (id[85] & (1u << 5));

    uint64_t lba28 = (uint64_t)id[60] | ((uint64_t)id[61] << 16);
    uint64_t lba48 = (uint64_t)id[100] | ((uint64_t)id[101] << 16) | ((uint64_t)id[102] << 32) |
                     ((uint64_t)id[103] << 48);
    out->sectors = out->lba48 ? lba48 : lba28;
    if (out->lba48 && out->sectors == 0)
        out->sectors = lba28;
    if (out->sectors > ATA_LBA48_LIMIT)
        return fail(why, why_len, "capacity beyond 48-bit addressing");
    if (out->sectors == 0)
        return fail(why, why_len, "device reports no sectors");

    out->sector_size = 512;
    if ((id[106] & 0xC000) == 0x4000 && (id[106] & (1u << 12))) {
        uint32_t words = (uint32_t)id[117] | ((uint32_t)id[118] << 16);
        if (words != 256 && words != 2048)
            return fail(why, why_len, "unsupported logical sector size");
        out->sector_size = words * 2;
    }
    ata_string(&id[27], 20, out->model);
    ata_string(&id[10], 10, out->serial);
    return true;
}

bool ata_build_rw(struct ata_taskfile *tf, uint64_t lba, uint32_t count, bool write, bool dma, bool lba48)
{
    memset(tf, 0, sizeof(*tf));
    if (count == 0)
        return false;
    tf->device = ATA_DEV_LBA;
    tf->lba = lba;
    if (count <= ATA_MAX_COUNT28 && lba < ATA_LBA28_LIMIT && count <= ATA_LBA28_LIMIT - lba) {
        tf->count = (uint16_t)(count & 0xFF);
        tf->device |= (uint8_t)((lba >> 24) & 0x0F);
        tf->command = dma ? (write ? ATA_CMD_WRITE_DMA : ATA_CMD_READ_DMA)
                          : (write ? ATA_CMD_WRITE_SECTORS : ATA_CMD_READ_SECTORS);
        return true;
    }
    if (!lba48 || count > ATA_MAX_COUNT48 || lba >= ATA_LBA48_LIMIT || count > ATA_LBA48_LIMIT - lba)
        return false;
    tf->lba48 = true;
    tf->count = (uint16_t)(count & 0xFFFF);
    tf->command = dma ? (write ? ATA_CMD_WRITE_DMA_EXT : ATA_CMD_READ_DMA_EXT)
                      : (write ? ATA_CMD_WRITE_SECTORS_EXT : ATA_CMD_READ_SECTORS_EXT);
    return true;
}

void ata_build_flush(struct ata_taskfile *tf, bool lba48)
{
    memset(tf, 0, sizeof(*tf));
    tf->command = lba48 ? ATA_CMD_FLUSH_CACHE_EXT : ATA_CMD_FLUSH_CACHE;
    tf->lba48 = lba48;
}

void ata_build_identify(struct ata_taskfile *tf)
{
    memset(tf, 0, sizeof(*tf));
    tf->command = ATA_CMD_IDENTIFY;
}

bool ata_channel_ports(uint8_t prog_if, const uint32_t bar_raw[6], unsigned channel, uint16_t *cmd, uint16_t *ctl)
{
    if (channel > 1)
        return false;
    bool native = prog_if & (channel ? 0x04 : 0x01);
    if (!native) {
        *cmd = channel ? 0x170 : 0x1F0;
        *ctl = channel ? 0x376 : 0x3F6;
        return true;
    }
    struct pci_bar c, k;
    if (!pci_bar_decode(bar_raw, channel * 2, &c) || !pci_bar_decode(bar_raw, channel * 2 + 1, &k) || !c.io ||
        !k.io || c.base > 0xFFF8 || k.base > 0xFFFC)
        return false;
    *cmd = (uint16_t)c.base;
    *ctl = (uint16_t)(k.base + 2);      /* the control block BAR's register at offset 2 */
    return true;
}

enum ata_failure ata_classify_failure(uint8_t status)
{
    if (status == 0xFF)
        return ATA_FAILURE_GONE;
    if (status & ATA_SR_BSY)
        return ATA_FAILURE_BUSY;        /* the other bits are not valid while BSY is set */
    if (status & ATA_SR_DF)
        return ATA_FAILURE_DEVICE_FAULT;
    if (status & ATA_SR_ERR)
        return ATA_FAILURE_ERROR;
    return ATA_FAILURE_PROTOCOL;
}

const char *ata_failure_text(enum ata_failure f)
{
    switch (f) {
    case ATA_FAILURE_BUSY: return "timed out, device busy";
    case ATA_FAILURE_GONE: return "no answer, bus floating";
    case ATA_FAILURE_DEVICE_FAULT: return "device fault";
    case ATA_FAILURE_ERROR: return "device reported an error";
    case ATA_FAILURE_PROTOCOL: return "unexpected device state";
    }
    return "unknown failure";
}
