/* The MC146818A RTC as its datasheet specifies, computed from elapsed divider ticks instead of
 * stepped: an advance over any interval applies all its seconds at once with date arithmetic,
 * and the alarm and periodic flags are found arithmetically, so no call loops over time.
 * Choices the datasheet leaves open: updates are instantaneous at the second boundary, UIP is
 * set for the 244 us before it; DSE is stored but no daylight-saving jumps are made (the rules
 * the part knows are obsolete); leap years follow the Gregorian rules using the century byte,
 * which the model carries when the year wraps; invalid register contents are normalized by
 * the date arithmetic at the next update; divider values other than 010 stop the clock. */
#include "dev/rtc146818.h"
#include "dev/dev_clock.h"
#include "lib/mem.h"

#define SECONDS_PER_DAY    86400
#define UIP_TICKS          8          /* 244 us at 32.768 kHz */
#define HALF_SECOND_TICKS  (RTC_DIVIDER_HZ / 2)
#define BASE_MEMORY_KIB    640
#define MIB                (1024ull * 1024)
#define UNIT_64K           (64ull * 1024)
#define ALARM_SEARCH_STEPS 16         /* each step fixes a field or moves to the next unit */
#define REG_A_POWER_ON     (RTC_A_DV_32768 | 0x06)
#define DAYS_1970_TO_SUNDAY 4         /* 1970-01-01 was a Thursday */

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

int64_t rtc_days_from_civil(int64_t year, int64_t month, int64_t day)
{
    year += floor_div(month - 1, 12);
    month -= 12 * floor_div(month - 1, 12);      /* now 1..12 */
    year -= month <= 2;
    int64_t era = floor_div(year, 400);
    int64_t yoe = year - era * 400;
    int64_t mp = (month + 9) % 12;               /* March = 0 */
    int64_t doy = (153 * mp + 2) / 5;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468 + (day - 1);
}

void rtc_civil_from_days(int64_t days, int64_t *year, unsigned *month, unsigned *day)
{
    days += 719468;
    int64_t era = floor_div(days, 146097);
    int64_t doe = days - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *day = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *month = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *year = yoe + era * 400 + (*month <= 2);
}

unsigned rtc_day_of_week(int64_t days)
{
    return (unsigned)((days % 7 + 7 + DAYS_1970_TO_SUNDAY) % 7) + 1;
}

unsigned rtc_days_in_month(int64_t year, unsigned month)
{
    return (unsigned)(rtc_days_from_civil(year, (int64_t)month + 1, 1) -
                      rtc_days_from_civil(year, month, 1));
}

static bool binary_mode(const struct rtc146818 *rtc)
{
    return rtc->cmos[RTC_REG_B] & RTC_B_DM_BINARY;
}

static unsigned decode(const struct rtc146818 *rtc, uint8_t raw)
{
    return binary_mode(rtc) ? raw : (unsigned)(raw >> 4) * 10 + (raw & 0xF);
}

static uint8_t encode(const struct rtc146818 *rtc, unsigned v)
{
    v %= 100;
    return binary_mode(rtc) ? (uint8_t)v : (uint8_t)((v / 10) << 4 | v % 10);
}

static unsigned decode_hour(const struct rtc146818 *rtc, uint8_t raw)
{
    if (rtc->cmos[RTC_REG_B] & RTC_B_24H)
        return decode(rtc, raw);
    return decode(rtc, raw & ~RTC_HOUR_PM) % 12 + ((raw & RTC_HOUR_PM) ? 12 : 0);
}

static uint8_t encode_hour(const struct rtc146818 *rtc, unsigned h24)
{
    if (rtc->cmos[RTC_REG_B] & RTC_B_24H)
        return encode(rtc, h24);
    unsigned h12 = h24 % 12 ? h24 % 12 : 12;     /* midnight is 12 AM, noon 12 PM */
    return (uint8_t)(encode(rtc, h12) | (h24 >= 12 ? RTC_HOUR_PM : 0));
}

static int64_t second_of_day(const struct rtc146818 *rtc)
{
    return (int64_t)decode(rtc, rtc->cmos[RTC_SECONDS]) + 60 * (int64_t)decode(rtc, rtc->cmos[RTC_MINUTES]) +
           3600 * (int64_t)decode_hour(rtc, rtc->cmos[RTC_HOURS]);
}

/* The update cycle, `seconds` of them at once: carries through the calendar. */
static void apply_seconds(struct rtc146818 *rtc, uint64_t seconds)
{
    int64_t sod = second_of_day(rtc) + (int64_t)seconds;
    int64_t carry_days = sod / SECONDS_PER_DAY;
    sod %= SECONDS_PER_DAY;
    int64_t year = (int64_t)decode(rtc, rtc->cmos[CMOS_CENTURY]) * 100 + decode(rtc, rtc->cmos[RTC_YEAR]);
    int64_t days = rtc_days_from_civil(year, decode(rtc, rtc->cmos[RTC_MONTH]),
                                       decode(rtc, rtc->cmos[RTC_DAY_OF_MONTH])) + carry_days;
    unsigned month, day;
    rtc_civil_from_days(days, &year, &month, &day);
    unsigned dow = decode(rtc, rtc->cmos[RTC_DAY_OF_WEEK]);
    dow = (unsigned)(((int64_t)dow + 6 + carry_days % 7) % 7) + 1;
    rtc->cmos[RTC_SECONDS] = encode(rtc, (unsigned)(sod % 60));
    rtc->cmos[RTC_MINUTES] = encode(rtc, (unsigned)(sod / 60 % 60));
    rtc->cmos[RTC_HOURS] = encode_hour(rtc, (unsigned)(sod / 3600));
    rtc->cmos[RTC_DAY_OF_WEEK] = encode(rtc, dow);
    rtc->cmos[RTC_DAY_OF_MONTH] = encode(rtc, day);
    rtc->cmos[RTC_MONTH] = encode(rtc, month);
    rtc->cmos[RTC_YEAR] = encode(rtc, (unsigned)(year % 100));
    rtc->cmos[CMOS_CENTURY] = encode(rtc, (unsigned)(year / 100 % 100));
}

/* One alarm byte: -1 for don't care, the value, or 255 (never matches) when out of range. */
static int alarm_field(const struct rtc146818 *rtc, unsigned reg, unsigned limit)
{
    uint8_t raw = rtc->cmos[reg];
    if ((raw & RTC_ALARM_DONT_CARE) == RTC_ALARM_DONT_CARE)
        return -1;
    unsigned v = reg == RTC_HOURS_ALARM ? decode_hour(rtc, raw) : decode(rtc, raw);
    if (reg == RTC_HOURS_ALARM && !(rtc->cmos[RTC_REG_B] & RTC_B_24H) &&
        (decode(rtc, raw & ~RTC_HOUR_PM) < 1 || decode(rtc, raw & ~RTC_HOUR_PM) > 12))
        return 255;
    return v < limit ? (int)v : 255;
}

/* Seconds (1..86400) from the current time to the next update whose time the alarm matches,
 * or 0 when it never matches. */
static uint64_t seconds_to_alarm(const struct rtc146818 *rtc)
{
    int hs = alarm_field(rtc, RTC_HOURS_ALARM, 24), ms = alarm_field(rtc, RTC_MINUTES_ALARM, 60);
    int ss = alarm_field(rtc, RTC_SECONDS_ALARM, 60);
    if (hs == 255 || ms == 255 || ss == 255)
        return 0;
    int64_t start = second_of_day(rtc) % SECONDS_PER_DAY, t = start + 1;
    for (unsigned step = 0; step < ALARM_SEARCH_STEPS; step++) {
        int64_t h = t / 3600 % 24, m = t / 60 % 60, s = t % 60;
        if (hs >= 0 && h != hs)
            t = (t / 3600 + (hs - h + 24) % 24) * 3600;
        else if (ms >= 0 && m != ms)
            t = ms > m ? (t / 60 + (ms - m)) * 60 : (t / 3600 + 1) * 3600;
        else if (ss >= 0 && s != ss)
            t = ss > s ? t + (ss - s) : (t / 60 + 1) * 60;
        else
            return (uint64_t)(t - start);
    }
    return 0;
}

static uint64_t periodic_ticks(const struct rtc146818 *rtc)
{
    unsigned rs = rtc->cmos[RTC_REG_A] & RTC_A_RS;
    if (rs == 0)
        return 0;
    return rs <= 2 ? 1ull << (rs + 6) : 1ull << (rs - 1);   /* 256 Hz, 128 Hz, then 8192 >> (rs-3) */
}

static uint8_t irqf(const struct rtc146818 *rtc)
{
    uint8_t b = rtc->cmos[RTC_REG_B], c = rtc->cmos[RTC_REG_C];
    bool on = ((c & RTC_C_PF) && (b & RTC_B_PIE)) || ((c & RTC_C_AF) && (b & RTC_B_AIE)) ||
              ((c & RTC_C_UF) && (b & RTC_B_UIE));
    return on ? RTC_C_IRQF : 0;
}

static void irq8_follow(struct rtc146818 *rtc)
{
    bool level = irqf(rtc);
    if (level != rtc->irq8_level) {
        rtc->irq8_level = level;
        irq_line_set(&rtc->irq8, level);
    }
}

static uint64_t divider_tick_at(const struct rtc146818 *rtc, uint64_t t)
{
    return rtc->divider_start_tick + ticks_from_tsc(t - rtc->divider_start_tsc, rtc->tsc_hz, RTC_DIVIDER_HZ);
}

void rtc_advance(struct rtc146818 *rtc, uint64_t now)
{
    if (now <= rtc->last_tsc)
        return;
    rtc->last_tsc = now;
    if (!rtc->divider_running)
        return;
    uint64_t from = rtc->divider_tick, to = divider_tick_at(rtc, now);
    if (to <= from)
        return;
    uint64_t updates = to / RTC_DIVIDER_HZ - from / RTC_DIVIDER_HZ;
    if (updates && !(rtc->cmos[RTC_REG_B] & RTC_B_SET)) {
        uint64_t to_alarm = seconds_to_alarm(rtc);
        if (to_alarm && to_alarm <= updates)
            rtc->cmos[RTC_REG_C] |= RTC_C_AF;
        apply_seconds(rtc, updates);
        rtc->cmos[RTC_REG_C] |= RTC_C_UF;
    }
    uint64_t period = periodic_ticks(rtc);
    if (period && to / period != from / period)
        rtc->cmos[RTC_REG_C] |= RTC_C_PF;
    rtc->divider_tick = to;
    irq8_follow(rtc);
}

uint64_t rtc_next_deadline(const struct rtc146818 *rtc)
{
    if (!rtc->divider_running || rtc->irq8_level)
        return DEV_TIME_NEVER;
    uint8_t b = rtc->cmos[RTC_REG_B];
    uint64_t d = rtc->divider_tick, next = DEV_TIME_NEVER;
    uint64_t period = periodic_ticks(rtc);
    if ((b & RTC_B_PIE) && period)
        next = (d / period + 1) * period;
    if (!(b & RTC_B_SET)) {
        uint64_t second = d / RTC_DIVIDER_HZ + 1;
        if (b & RTC_B_UIE) {
            uint64_t t = second * RTC_DIVIDER_HZ;
            next = t < next ? t : next;
        }
        uint64_t to_alarm = (b & RTC_B_AIE) ? seconds_to_alarm(rtc) : 0;
        if (to_alarm) {
            uint64_t t = (second + to_alarm - 1) * RTC_DIVIDER_HZ;
            next = t < next ? t : next;
        }
    }
    if (next == DEV_TIME_NEVER)
        return DEV_TIME_NEVER;
    uint64_t dt = tsc_from_ticks(next - rtc->divider_start_tick, RTC_DIVIDER_HZ, rtc->tsc_hz);
    return dt > DEV_TIME_NEVER - 1 - rtc->divider_start_tsc ? DEV_TIME_NEVER - 1 : rtc->divider_start_tsc + dt;
}

static void start_divider(struct rtc146818 *rtc, uint64_t now, uint64_t tick_in_second)
{
    rtc->divider_running = true;
    rtc->divider_start_tsc = now;
    rtc->divider_start_tick = tick_in_second;
    rtc->divider_tick = tick_in_second;
}

static bool update_in_progress(const struct rtc146818 *rtc)
{
    if (!rtc->divider_running || (rtc->cmos[RTC_REG_B] & RTC_B_SET))
        return false;
    return RTC_DIVIDER_HZ - rtc->divider_tick % RTC_DIVIDER_HZ <= UIP_TICKS;
}

static uint8_t read_register(struct rtc146818 *rtc, uint8_t index)
{
    switch (index) {
    case RTC_REG_A:
        return (uint8_t)(rtc->cmos[RTC_REG_A] | (update_in_progress(rtc) ? RTC_A_UIP : 0));
    case RTC_REG_C: {
        uint8_t c = (uint8_t)(rtc->cmos[RTC_REG_C] | irqf(rtc));
        rtc->cmos[RTC_REG_C] = 0;                /* all flags clear on read */
        irq8_follow(rtc);
        return c;
    }
    case RTC_REG_D:
        return RTC_D_VRT;                        /* the battery is always good */
    default:
        return rtc->cmos[index];
    }
}

static void write_register(struct rtc146818 *rtc, uint64_t now, uint8_t index, uint8_t value)
{
    switch (index) {
    case RTC_REG_A: {
        bool run = (value & RTC_A_DV) == RTC_A_DV_32768;
        if (run && !rtc->divider_running)        /* out of reset: first update half a second on */
            start_divider(rtc, now, HALF_SECOND_TICKS);
        rtc->divider_running = run;
        rtc->cmos[RTC_REG_A] = value & ~RTC_A_UIP;
        return;
    }
    case RTC_REG_B:
        rtc->cmos[RTC_REG_B] = value;
        irq8_follow(rtc);
        return;
    case RTC_REG_C:
    case RTC_REG_D:
        return;                                  /* read-only */
    default:
        rtc->cmos[index] = value;
        return;
    }
}

void rtc_init(struct rtc146818 *rtc, uint32_t tsc_khz, const struct rtc_datetime *dt,
              const struct irq_line *irq8, uint64_t now)
{
    memset(rtc, 0, sizeof(*rtc));
    rtc->tsc_hz = (uint64_t)tsc_khz * 1000;
    if (rtc->tsc_hz <= RTC_DIVIDER_HZ)
        rtc->tsc_hz = RTC_DIVIDER_HZ + 1;
    if (rtc->tsc_hz > DEV_TSC_HZ_MAX)
        rtc->tsc_hz = DEV_TSC_HZ_MAX;
    if (irq8)
        rtc->irq8 = *irq8;
    rtc->last_tsc = now;
    rtc->cmos[RTC_REG_A] = REG_A_POWER_ON;
    rtc->cmos[RTC_REG_B] = RTC_B_24H;
    rtc->cmos[RTC_SECONDS] = encode(rtc, dt->second);
    rtc->cmos[RTC_MINUTES] = encode(rtc, dt->minute);
    rtc->cmos[RTC_HOURS] = encode(rtc, dt->hour);
    rtc->cmos[RTC_DAY_OF_MONTH] = encode(rtc, dt->day);
    rtc->cmos[RTC_MONTH] = encode(rtc, dt->month);
    rtc->cmos[RTC_YEAR] = encode(rtc, dt->year % 100);
    rtc->cmos[CMOS_CENTURY] = encode(rtc, dt->year / 100);
    rtc->cmos[RTC_DAY_OF_WEEK] = encode(rtc, rtc_day_of_week(rtc_days_from_civil(dt->year, dt->month, dt->day)));
    rtc->cmos[RTC_SECONDS_ALARM] = encode(rtc, 0);
    apply_seconds(rtc, 0);                       /* normalizes out-of-range fields */
    start_divider(rtc, now, 0);
}

static void put16(uint8_t *p, uint64_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

void rtc_cmos_set_memory(struct rtc146818 *rtc, uint64_t below_4g, uint64_t above_4g)
{
    uint64_t ext_kib = below_4g > MIB ? (below_4g - MIB) / 1024 : 0;
    uint64_t above_16m = below_4g > 16 * MIB ? (below_4g - 16 * MIB) / UNIT_64K : 0;
    uint64_t above_4g_units = above_4g / UNIT_64K;
    put16(&rtc->cmos[CMOS_BASE_MEM_LO], BASE_MEMORY_KIB);
    put16(&rtc->cmos[CMOS_EXT_MEM_LO], ext_kib > 0xFFFF ? 0xFFFF : ext_kib);
    put16(&rtc->cmos[CMOS_EXT_MEM2_LO], ext_kib > 0xFFFF ? 0xFFFF : ext_kib);
    put16(&rtc->cmos[CMOS_MEM_16M_LO], above_16m > 0xFFFF ? 0xFFFF : above_16m);
    if (above_4g_units > 0xFFFFFF)
        above_4g_units = 0xFFFFFF;
    put16(&rtc->cmos[CMOS_MEM_4G_LO], above_4g_units);
    rtc->cmos[CMOS_MEM_4G_LO + 2] = (uint8_t)(above_4g_units >> 16);
}

bool rtc_nmi_masked(const struct rtc146818 *rtc)
{
    return rtc->nmi_masked;
}

void rtc_port_read(struct rtc146818 *rtc, uint64_t now, uint16_t port, unsigned size, uint32_t *value)
{
    rtc_advance(rtc, now);
    uint32_t v = 0;
    for (unsigned i = 0; i < size && i < 4; i++) {
        uint32_t p = (uint32_t)port + i, byte = 0xFF;   /* port 0x70 is write-only */
        if (p == RTC_PORT_DATA)
            byte = read_register(rtc, rtc->index);
        v |= byte << (8 * i);
    }
    *value = v;
}

void rtc_port_write(struct rtc146818 *rtc, uint64_t now, uint16_t port, unsigned size, uint32_t value)
{
    rtc_advance(rtc, now);
    for (unsigned i = 0; i < size && i < 4; i++) {
        uint32_t p = (uint32_t)port + i;
        uint8_t byte = (uint8_t)(value >> (8 * i));
        if (p == RTC_PORT_INDEX) {
            rtc->index = byte & (RTC_CMOS_SIZE - 1);
            rtc->nmi_masked = byte & 0x80;
        } else if (p == RTC_PORT_DATA) {
            write_register(rtc, now, rtc->index, byte);
        }
    }
}
