/* A guest's pair of 8259A interrupt controllers as a PC wires them: master at 0x20/0x21, slave at
 * 0xA0/0xA1 cascaded on the master's IR2, and the PIIX edge/level control registers at
 * 0x4D0/0x4D1. The master's INT output is an irq_line (LINT0 of the LAPIC, ExtINT). Pure. */
#ifndef TESSERA_PIC8259_H
#define TESSERA_PIC8259_H

#include <stdbool.h>
#include <stdint.h>
#include "dev/irq.h"

#define PIC_MASTER_CMD   0x20
#define PIC_MASTER_DATA  0x21
#define PIC_SLAVE_CMD    0xA0
#define PIC_SLAVE_DATA   0xA1
#define PIC_ELCR_MASTER  0x4D0
#define PIC_ELCR_SLAVE   0x4D1
#define PIC_CASCADE_IR   2         /* the master input the slave's INT drives */
#define PIC_IRQS         16

/* ELCR bits that exist: IRQ 0, 1, 2, 8 and 13 are edge-only on PIIX (reserved, read 0). */
#define PIC_ELCR_MASTER_WRITABLE 0xF8
#define PIC_ELCR_SLAVE_WRITABLE  0xDE

/* What an INTA cycle reads when no chip drives the data bus. */
#define PIC_OPEN_BUS_VECTOR 0xFF

/* The vectors a PC BIOS leaves programmed. */
#define PIC_BIOS_MASTER_VECTOR 0x08
#define PIC_BIOS_SLAVE_VECTOR  0x70

enum pic_init_step { PIC_OPERATIONAL, PIC_EXPECT_ICW2, PIC_EXPECT_ICW3, PIC_EXPECT_ICW4 };

struct pic8259_chip {
    uint8_t irr, isr, imr;
    uint8_t input;               /* IR pin levels as last driven */
    uint8_t vector_base;         /* ICW2 bits 7:3 */
    uint8_t icw3;                /* master: inputs with a slave; slave: its ID in bits 2:0 */
    uint8_t lowest_priority;     /* the IR with the lowest priority (rotation), 7 after ICW1 */
    uint8_t elcr;                /* level-triggered inputs per the ELCR */
    enum pic_init_step init_step;
    bool icw4_needed, single, ltim;
    bool auto_eoi, rotate_on_auto_eoi, special_fully_nested;
    bool special_mask, read_isr, poll;
};

struct pic8259 {
    struct pic8259_chip master, slave;
    struct irq_line intr;        /* the master's INT output */
    bool intr_level;
};

/* Power-on: the datasheet leaves the state undefined until ICW1; here both chips are masked
 * with vector base 0 so nothing reaches the CPU before software programs them. */
void pic8259_reset(struct pic8259 *pic, struct irq_line intr);

/* What a PC BIOS leaves: cascade on IR2, 8086 mode, vectors 0x08 and 0x70, everything masked,
 * every input edge-triggered. Programmed through the same port writes a guest uses. */
void pic8259_firmware_init(struct pic8259 *pic);

/* ISA IRQ 0-15, compatible with struct irq_line (ctx is the struct pic8259). IRQ 2 is not an
 * input on a PC (the master's IR2 is the slave's INT) and is ignored, as are numbers >= 16. */
void pic8259_set_irq(void *ctx, unsigned irq, bool level);

/* The INTA cycle: the vector of the highest-priority request, its ISR bit set (unless AEOI).
 * A request that went away gives the spurious IR7 vector of the chip that lost it; a slave's
 * spurious IRQ 15 leaves the master's ISR bit for IR2 set, as on the chip. */
uint8_t pic8259_acknowledge(struct pic8259 *pic);

/* Port accessors for 0x20-0x21, 0xA0-0xA1 and 0x4D0-0x4D1 (size 1, 2 or 4): a wider access is
 * split into byte accesses to consecutive ports, as the ISA bus does; bytes that land on no
 * register read 0xFF and ignore writes. */
uint32_t pic8259_port_read(void *dev, uint16_t port, unsigned size);
void pic8259_port_write(void *dev, uint16_t port, unsigned size, uint32_t value);

#endif
