/* A guest's 8259A pair (Intel 8259A datasheet) with the PIIX ELCR: command words, priority
 * resolution with rotation and the nesting modes, the INTA cycle, and the master's INT output.
 * The slave's INT reaches the CPU only through the master's IR2, as on a PC board. */
#include "dev/pic8259.h"
#include "lib/mem.h"

#define ICW1_IC4          0x01
#define ICW1_SNGL         0x02
#define ICW1_LTIM         0x08
#define ICW1_SELECT       0x10   /* D4 on the even port: ICW1 rather than an OCW */
#define ICW2_VECTOR_MASK  0xF8
#define ICW3_SLAVE_ID     0x07
#define ICW4_8086         0x01
#define ICW4_AEOI         0x02
#define ICW4_SFNM         0x10
#define OCW3_SELECT       0x08   /* D3 on the even port: OCW3 rather than OCW2 */
#define OCW3_RIS          0x01
#define OCW3_RR           0x02
#define OCW3_POLL         0x04
#define OCW3_SMM          0x20
#define OCW3_ESMM         0x40
#define OCW2_LEVEL_MASK   0x07
#define OCW2_COMMAND_SHIFT 5
#define POLL_INTERRUPT    0x80
#define IR_SPURIOUS       7

enum ocw2_command {          /* R, SL, EOI */
    OCW2_ROTATE_AEOI_CLEAR = 0, OCW2_NONSPECIFIC_EOI = 1, OCW2_NOP = 2, OCW2_SPECIFIC_EOI = 3,
    OCW2_ROTATE_AEOI_SET = 4, OCW2_ROTATE_NONSPECIFIC_EOI = 5, OCW2_SET_PRIORITY = 6,
    OCW2_ROTATE_SPECIFIC_EOI = 7,
};

/* 0 for the highest-priority IR, 7 for the lowest, after rotation. */
static unsigned priority_rank(const struct pic8259_chip *c, unsigned ir)
{
    return (ir - c->lowest_priority - 1) & 7;
}

/* The IR in mask with the highest priority, or -1. */
static int highest_priority(const struct pic8259_chip *c, uint8_t mask)
{
    for (unsigned rank = 0; rank < 8; rank++) {
        unsigned ir = (c->lowest_priority + 1 + rank) & 7;
        if (mask & (1u << ir))
            return (int)ir;
    }
    return -1;
}

static bool is_cascade_input(const struct pic8259_chip *c, unsigned ir)
{
    return !c->single && (c->icw3 & (1u << ir));
}

static uint8_t level_inputs(const struct pic8259_chip *c)
{
    return c->ltim ? 0xFF : c->elcr;
}

/* The request the chip signals on INT: unmasked, and above whatever is in service. In special
 * mask mode a masked level in service holds nothing back; in special fully nested mode (master
 * only) a slave's level in service does not hold back the same slave's higher requests. */
static int pending_request(const struct pic8259_chip *c, bool is_master)
{
    int request = highest_priority(c, c->irr & ~c->imr);
    if (request < 0)
        return -1;
    uint8_t in_service = c->special_mask ? c->isr & ~c->imr : c->isr;
    int served = highest_priority(c, in_service);
    if (served < 0 || priority_rank(c, (unsigned)request) < priority_rank(c, (unsigned)served))
        return request;
    if (is_master && c->special_fully_nested && request == served &&
        is_cascade_input(c, (unsigned)request))
        return request;
    return -1;
}

/* Edge inputs latch a rising edge in IRR until it is acknowledged, so a pulse from a source that
 * holds no level (irq_line_pulse) is not lost; level inputs show the pin in IRR. */
static void chip_drive_input(struct pic8259_chip *c, unsigned ir, bool level)
{
    uint8_t bit = (uint8_t)(1u << ir);
    if (level_inputs(c) & bit)
        c->irr = level ? c->irr | bit : c->irr & ~bit;
    else if (level && !(c->input & bit))
        c->irr |= bit;
    c->input = level ? c->input | bit : c->input & ~bit;
}

static void update_outputs(struct pic8259 *pic)
{
    chip_drive_input(&pic->master, PIC_CASCADE_IR, pending_request(&pic->slave, false) >= 0);
    bool level = pending_request(&pic->master, true) >= 0;
    if (level != pic->intr_level) {
        pic->intr_level = level;
        irq_line_set(&pic->intr, level);
    }
}

/* The acknowledge of one chip (INTA or poll): in service unless AEOI, whose end-of-interrupt
 * happens at once, rotating if asked. */
static void chip_acknowledge(struct pic8259_chip *c, unsigned ir)
{
    uint8_t bit = (uint8_t)(1u << ir);
    if (!(level_inputs(c) & bit))
        c->irr &= ~bit;
    if (!c->auto_eoi)
        c->isr |= bit;
    else if (c->rotate_on_auto_eoi)
        c->lowest_priority = (uint8_t)ir;
}

uint8_t pic8259_acknowledge(struct pic8259 *pic)
{
    struct pic8259_chip *m = &pic->master, *s = &pic->slave;
    uint8_t vector;
    int ir = pending_request(m, true);
    if (ir < 0) {
        vector = m->vector_base | IR_SPURIOUS;
    } else {
        chip_acknowledge(m, (unsigned)ir);
        if (!is_cascade_input(m, (unsigned)ir)) {
            vector = m->vector_base | (uint8_t)ir;
        } else if (ir != PIC_CASCADE_IR || s->single || (s->icw3 & ICW3_SLAVE_ID) != PIC_CASCADE_IR) {
            vector = PIC_OPEN_BUS_VECTOR;   /* the board's only slave sits on IR2 and must answer to ID 2 */
        } else {
            int sir = pending_request(s, false);
            if (sir < 0) {
                vector = s->vector_base | IR_SPURIOUS;   /* the master's ISR bit stays set */
            } else {
                chip_acknowledge(s, (unsigned)sir);
                vector = s->vector_base | (uint8_t)sir;
            }
        }
    }
    update_outputs(pic);
    return vector;
}

static void chip_reset(struct pic8259_chip *c)
{
    memset(c, 0, sizeof(*c));
    c->imr = 0xFF;
    c->lowest_priority = 7;
}

void pic8259_reset(struct pic8259 *pic, struct irq_line intr)
{
    chip_reset(&pic->master);
    chip_reset(&pic->slave);
    pic->intr = intr;
    pic->intr_level = false;
}

void pic8259_set_irq(void *ctx, unsigned irq, bool level)
{
    struct pic8259 *pic = ctx;
    if (irq >= PIC_IRQS || irq == PIC_CASCADE_IR)
        return;
    if (irq < 8)
        chip_drive_input(&pic->master, irq, level);
    else
        chip_drive_input(&pic->slave, irq - 8, level);
    update_outputs(pic);
}

/* ICW1 (datasheet "Initialization command words"): edge sense reset, IMR cleared, IR7 lowest,
 * special mask mode off, IRR selected for reads, ICW4 functions zero unless ICW4 follows. The
 * in-service bits go too: nothing is in service on a freshly initialised chip. */
static void write_icw1(struct pic8259_chip *c, uint8_t value)
{
    c->icw4_needed = value & ICW1_IC4;
    c->single = value & ICW1_SNGL;
    c->ltim = value & ICW1_LTIM;
    c->imr = 0;
    c->isr = 0;
    c->irr = c->input & level_inputs(c);
    c->lowest_priority = 7;
    c->special_mask = false;
    c->read_isr = false;
    c->poll = false;
    c->rotate_on_auto_eoi = false;
    c->auto_eoi = false;
    c->special_fully_nested = false;
    c->init_step = PIC_EXPECT_ICW2;
}

/* µPM (8080 call sequences) and the buffered-mode bits change nothing a CPU sees here: the
 * INTA cycle always returns the 8086-mode vector. */
static void write_data(struct pic8259_chip *c, uint8_t value)
{
    switch (c->init_step) {
    case PIC_EXPECT_ICW2:
        c->vector_base = value & ICW2_VECTOR_MASK;
        c->init_step = !c->single ? PIC_EXPECT_ICW3
                     : c->icw4_needed ? PIC_EXPECT_ICW4 : PIC_OPERATIONAL;
        break;
    case PIC_EXPECT_ICW3:
        c->icw3 = value;
        c->init_step = c->icw4_needed ? PIC_EXPECT_ICW4 : PIC_OPERATIONAL;
        break;
    case PIC_EXPECT_ICW4:
        c->auto_eoi = value & ICW4_AEOI;
        c->special_fully_nested = value & ICW4_SFNM;
        c->init_step = PIC_OPERATIONAL;
        break;
    case PIC_OPERATIONAL:
        c->imr = value;   /* OCW1 */
        break;
    }
}

/* The in-service level a non-specific EOI clears: the highest, except that in special mask mode
 * a level masked by IMR is not cleared (datasheet, special mask mode). */
static int nonspecific_eoi(struct pic8259_chip *c)
{
    int ir = highest_priority(c, c->special_mask ? c->isr & ~c->imr : c->isr);
    if (ir >= 0)
        c->isr &= (uint8_t)~(1u << ir);
    return ir;
}

static void write_ocw2(struct pic8259_chip *c, uint8_t value)
{
    unsigned level = value & OCW2_LEVEL_MASK;
    int ir;
    switch ((enum ocw2_command)(value >> OCW2_COMMAND_SHIFT)) {
    case OCW2_NONSPECIFIC_EOI:
        nonspecific_eoi(c);
        break;
    case OCW2_ROTATE_NONSPECIFIC_EOI:
        ir = nonspecific_eoi(c);
        if (ir >= 0)
            c->lowest_priority = (uint8_t)ir;
        break;
    case OCW2_SPECIFIC_EOI:
        c->isr &= (uint8_t)~(1u << level);
        break;
    case OCW2_ROTATE_SPECIFIC_EOI:
        c->isr &= (uint8_t)~(1u << level);
        c->lowest_priority = (uint8_t)level;
        break;
    case OCW2_SET_PRIORITY:
        c->lowest_priority = (uint8_t)level;
        break;
    case OCW2_ROTATE_AEOI_SET:
        c->rotate_on_auto_eoi = true;
        break;
    case OCW2_ROTATE_AEOI_CLEAR:
        c->rotate_on_auto_eoi = false;
        break;
    case OCW2_NOP:
        break;
    }
}

static void write_ocw3(struct pic8259_chip *c, uint8_t value)
{
    if (value & OCW3_RR)
        c->read_isr = value & OCW3_RIS;
    if (value & OCW3_POLL)
        c->poll = true;
    if (value & OCW3_ESMM)
        c->special_mask = value & OCW3_SMM;
}

static void write_command(struct pic8259_chip *c, uint8_t value)
{
    if (value & ICW1_SELECT)
        write_icw1(c, value);
    else if (value & OCW3_SELECT)
        write_ocw3(c, value);
    else
        write_ocw2(c, value);
}

/* Bits switching to level show the pin at once; bits switching to edge drop their request and
 * wait for the next rising edge. */
static void write_elcr(struct pic8259_chip *c, uint8_t value, uint8_t writable)
{
    uint8_t before = level_inputs(c);
    c->elcr = value & writable;
    uint8_t after = level_inputs(c);
    uint8_t now_level = after & ~before, now_edge = before & ~after;
    c->irr = (uint8_t)((c->irr & ~now_level & ~now_edge) | (c->input & now_level));
}

/* The poll command: the next read of the even port is an acknowledge of this chip alone. */
static uint8_t poll_read(struct pic8259_chip *c, bool is_master)
{
    c->poll = false;
    int ir = pending_request(c, is_master);
    if (ir < 0)
        return 0;
    chip_acknowledge(c, (unsigned)ir);
    return POLL_INTERRUPT | (uint8_t)ir;
}

static uint8_t read_byte(struct pic8259 *pic, uint32_t port)
{
    struct pic8259_chip *c = port == PIC_MASTER_CMD || port == PIC_MASTER_DATA ? &pic->master
                           : port == PIC_SLAVE_CMD || port == PIC_SLAVE_DATA ? &pic->slave : NULL;
    if (port == PIC_ELCR_MASTER)
        return pic->master.elcr;
    if (port == PIC_ELCR_SLAVE)
        return pic->slave.elcr;
    if (!c)
        return 0xFF;   /* no register: the ISA bus floats high */
    if (port == PIC_MASTER_DATA || port == PIC_SLAVE_DATA)
        return c->imr;
    if (c->poll) {
        uint8_t word = poll_read(c, c == &pic->master);
        update_outputs(pic);
        return word;
    }
    return c->read_isr ? c->isr : c->irr;
}

static void write_byte(struct pic8259 *pic, uint32_t port, uint8_t value)
{
    switch (port) {
    case PIC_MASTER_CMD:
        write_command(&pic->master, value);
        break;
    case PIC_MASTER_DATA:
        write_data(&pic->master, value);
        break;
    case PIC_SLAVE_CMD:
        write_command(&pic->slave, value);
        break;
    case PIC_SLAVE_DATA:
        write_data(&pic->slave, value);
        break;
    case PIC_ELCR_MASTER:
        write_elcr(&pic->master, value, PIC_ELCR_MASTER_WRITABLE);
        break;
    case PIC_ELCR_SLAVE:
        write_elcr(&pic->slave, value, PIC_ELCR_SLAVE_WRITABLE);
        break;
    default:
        return;
    }
    update_outputs(pic);
}

uint32_t pic8259_port_read(void *dev, uint16_t port, unsigned size)
{
    uint32_t value = 0;
    if (size > 4)
        size = 4;
    for (unsigned i = 0; i < size; i++)
        value |= (uint32_t)read_byte(dev, (uint32_t)port + i) << (8 * i);
    return value;
}

void pic8259_port_write(void *dev, uint16_t port, unsigned size, uint32_t value)
{
    if (size > 4)
        size = 4;
    for (unsigned i = 0; i < size; i++)
        write_byte(dev, (uint32_t)port + i, (uint8_t)(value >> (8 * i)));
}

void pic8259_firmware_init(struct pic8259 *pic)
{
    static const struct { uint16_t port; uint8_t value; } sequence[] = {
        { PIC_MASTER_CMD, ICW1_SELECT | ICW1_IC4 },
        { PIC_MASTER_DATA, PIC_BIOS_MASTER_VECTOR },
        { PIC_MASTER_DATA, 1u << PIC_CASCADE_IR },
        { PIC_MASTER_DATA, ICW4_8086 },
        { PIC_SLAVE_CMD, ICW1_SELECT | ICW1_IC4 },
        { PIC_SLAVE_DATA, PIC_BIOS_SLAVE_VECTOR },
        { PIC_SLAVE_DATA, PIC_CASCADE_IR },
        { PIC_SLAVE_DATA, ICW4_8086 },
        { PIC_MASTER_DATA, 0xFF },
        { PIC_SLAVE_DATA, 0xFF },
        { PIC_ELCR_MASTER, 0 },
        { PIC_ELCR_SLAVE, 0 },
    };
    for (unsigned i = 0; i < sizeof(sequence) / sizeof(sequence[0]); i++)
        write_byte(pic, sequence[i].port, sequence[i].value);
}
