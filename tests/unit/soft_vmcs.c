/* Software VMCS for host tests (see soft_vmcs.h). Fields are stored by encoding; widths are
 * enforced as the hardware does: 16- and 32-bit fields keep only their low bits. */
#include <stdint.h>
#include <string.h>
#include "soft_vmcs.h"
#include "vmx/vmcs.h"

#define SOFT_VMCS_SLOTS 512

static struct { uint32_t field; uint64_t value; int used; int written; } slots[SOFT_VMCS_SLOTS];

void soft_vmcs_reset(void)
{
    memset(slots, 0, sizeof(slots));
}

static uint64_t width_mask(uint32_t field)
{
    switch ((field >> 13) & 3) {
    case 0: return 0xffffull;
    case 2: return 0xffffffffull;
    default: return ~0ull;
    }
}

static int slot_of(uint32_t field, int create)
{
    for (int i = 0; i < SOFT_VMCS_SLOTS; i++)
        if (slots[i].used && slots[i].field == field)
            return i;
    if (!create)
        return -1;
    for (int i = 0; i < SOFT_VMCS_SLOTS; i++)
        if (!slots[i].used) {
            slots[i].used = 1;
            slots[i].field = field;
            return i;
        }
    return -1;
}

uint64_t vmcs_read(uint32_t field)
{
    int i = slot_of(field, 0);
    return i < 0 ? 0 : slots[i].value;
}

void vmcs_write(uint32_t field, uint64_t value)
{
    int i = slot_of(field, 1);
    if (i >= 0) {
        slots[i].value = value & width_mask(field);
        slots[i].written = 1;
    }
}

int soft_vmcs_written(uint32_t field)
{
    int i = slot_of(field, 0);
    return i >= 0 && slots[i].written;
}
