/* Capability MSR values modelled on Bochs' corei7_skylake_x, shared by the tests that need a
 * realistic VMX capability set. */
#ifndef TESSERA_TEST_SKYLAKE_CAPS_H
#define TESSERA_TEST_SKYLAKE_CAPS_H

#include <string.h>
#include "vmx/caps.h"

static inline void skylake_caps(struct vmx_caps *caps)
{
    memset(caps, 0, sizeof(*caps));
    caps->basic = 0x00D8100000000004ull;
    caps->pin = caps->true_pin = 0x0000007f00000016ull;
    caps->proc = 0xfff9fffe0401e172ull;
    caps->true_proc = 0xfff9fffe04006172ull;
    caps->proc2 = 0x00177fff00000000ull;
    caps->exit = 0x01ffffff00036dffull;
    caps->true_exit = 0x01ffffff00036dfbull;
    caps->entry = 0x0003ffff000011ffull;
    caps->true_entry = 0x0003ffff000011fbull;
    caps->misc = 0x00000000000401e5ull;
    caps->ept_vpid = 0x00000f0106734141ull;
    caps->cr0_fixed0 = 0x80000021ull;
    caps->cr0_fixed1 = 0xffffffffull;
    caps->cr4_fixed0 = 0x2000ull;
    caps->cr4_fixed1 = 0x003727ffull;
}

#endif
