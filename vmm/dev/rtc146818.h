/* A guest's Motorola MC146818A real-time clock and CMOS RAM (ports 0x70/0x71): the time given at
 * init advancing with guest time, registers A-D, periodic, alarm and update-ended interrupts on
 * IRQ 8, the NMI mask bit of port 0x70, and the CMOS bytes firmware and OSes read. Pure. */
#ifndef TESSERA_RTC146818_H
#define TESSERA_RTC146818_H

#include <stdbool.h>
#include <stdint.h>
#include "dev/irq.h"

#define RTC_PORT_INDEX   0x70
#define RTC_PORT_DATA    0x71
#define RTC_CMOS_SIZE    128
#define RTC_DIVIDER_HZ   32768u   /* the PC's crystal; register A's DV = 010 selects it */

/* CMOS indices (MC146818A register map; PC CMOS conventions for the RAM bytes). */
#define RTC_SECONDS        0x00
#define RTC_SECONDS_ALARM  0x01
#define RTC_MINUTES        0x02
#define RTC_MINUTES_ALARM  0x03
#define RTC_HOURS          0x04
#define RTC_HOURS_ALARM    0x05
#define RTC_DAY_OF_WEEK    0x06   /* 1 = Sunday */
#define RTC_DAY_OF_MONTH   0x07
#define RTC_MONTH          0x08
#define RTC_YEAR           0x09
#define RTC_REG_A          0x0A
#define RTC_REG_B          0x0B
#define RTC_REG_C          0x0C
#define RTC_REG_D          0x0D
#define CMOS_BASE_MEM_LO   0x15   /* KiB below 1 MiB */
#define CMOS_EXT_MEM_LO    0x17   /* KiB above 1 MiB, at most 0xFFFF */
#define CMOS_EXT_MEM2_LO   0x30   /* the same, as POST reports it */
#define CMOS_CENTURY       0x32
#define CMOS_MEM_16M_LO    0x34   /* 64 KiB units between 16 MiB and 4 GiB */
#define CMOS_MEM_4G_LO     0x5B   /* 64 KiB units above 4 GiB, three bytes */

#define RTC_A_UIP   0x80
#define RTC_A_DV    0x70
#define RTC_A_DV_32768 0x20       /* DV = 010: normal operation with a 32.768 kHz time base */
#define RTC_A_RS    0x0F
#define RTC_B_SET   0x80
#define RTC_B_PIE   0x40
#define RTC_B_AIE   0x20
#define RTC_B_UIE   0x10
#define RTC_B_SQWE  0x08
#define RTC_B_DM_BINARY 0x04
#define RTC_B_24H   0x02
#define RTC_B_DSE   0x01
#define RTC_C_IRQF  0x80
#define RTC_C_PF    0x40
#define RTC_C_AF    0x20
#define RTC_C_UF    0x10
#define RTC_D_VRT   0x80
#define RTC_HOUR_PM 0x80
#define RTC_ALARM_DONT_CARE 0xC0  /* an alarm byte 0xC0-0xFF matches every value */

struct rtc_datetime {
    uint16_t year;                /* 1900-9999 */
    uint8_t month, day, hour, minute, second;
};

struct rtc146818 {
    uint8_t cmos[RTC_CMOS_SIZE];  /* 0x00-0x09 in the guest's format; A without UIP; C's flags */
    uint8_t index;
    bool nmi_masked;              /* bit 7 of the last write to port 0x70 */
    uint64_t tsc_hz;
    uint64_t last_tsc;
    bool divider_running;
    uint64_t divider_start_tsc;   /* when the divider chain last left reset */
    uint64_t divider_start_tick;  /* 32.768 kHz ticks into the second at that moment */
    uint64_t divider_tick;        /* divider ticks processed so far */
    struct irq_line irq8;
    bool irq8_level;
};

/* Starts the clock at dt (normalized: out-of-range fields carry as the date arithmetic does),
 * in 24-hour BCD mode with a 1024 Hz periodic rate selected and no interrupt enabled, as PC
 * firmware leaves it. The first update comes one second after now. */
void rtc_init(struct rtc146818 *rtc, uint32_t tsc_khz, const struct rtc_datetime *dt,
              const struct irq_line *irq8, uint64_t now);
/* Fills the CMOS memory-size bytes for a guest with that much RAM below and above 4 GiB. */
void rtc_cmos_set_memory(struct rtc146818 *rtc, uint64_t below_4g, uint64_t above_4g);
/* Applies the updates and periodic ticks up to now, in constant time however long ago the last
 * call was; IRQ 8 follows register C's IRQF (held until C is read). */
void rtc_advance(struct rtc146818 *rtc, uint64_t now);
/* When IRQF would next rise; DEV_TIME_NEVER when it is already up or nothing is enabled. */
uint64_t rtc_next_deadline(const struct rtc146818 *rtc);
void rtc_port_read(struct rtc146818 *rtc, uint64_t now, uint16_t port, unsigned size, uint32_t *value);
void rtc_port_write(struct rtc146818 *rtc, uint64_t now, uint16_t port, unsigned size, uint32_t value);
bool rtc_nmi_masked(const struct rtc146818 *rtc);

/* Date arithmetic, exposed for tests and for the board: days since 1970-01-01 (proleptic
 * Gregorian, any month and day carried), and the day of the week (1 = Sunday). */
int64_t rtc_days_from_civil(int64_t year, int64_t month, int64_t day);
void rtc_civil_from_days(int64_t days, int64_t *year, unsigned *month, unsigned *day);
unsigned rtc_day_of_week(int64_t days);
unsigned rtc_days_in_month(int64_t year, unsigned month);

#endif
