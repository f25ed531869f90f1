//! Werkdagen under the Algemene termijnenwet: Saturday, Sunday and the general holidays (Nieuwjaarsdag, Goede
//! Vrijdag, 2e paasdag, Koningsdag, 5 mei, Hemelvaartsdag, 2e pinksterdag, both Christmas days) are not working
//! days. Extra days (by royal decree) are configurable. Pure: no clock, "today" is a parameter.

use std::collections::BTreeSet;

use time::{Date, Duration, Month, Weekday};

/// Easter Sunday of `year` (Gregorian calendar), by the anonymous Gregorian algorithm (Meeus/Jones/Butcher).
pub fn easter_sunday(year: i32) -> Date {
    let a = year.rem_euclid(19);
    let b = year.div_euclid(100);
    let c = year.rem_euclid(100);
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    let month = if month == 3 {
        Month::March
    } else {
        Month::April
    };
    Date::from_calendar_date(year, month, day as u8).expect("Easter is a valid date")
}

/// The general holidays of the Algemene termijnenwet (art. 3) in `year`, in date order.
pub fn feestdagen(year: i32) -> Vec<Date> {
    let date =
        |m: Month, d: u8| Date::from_calendar_date(year, m, d).expect("fixed holiday is valid");
    let easter = easter_sunday(year);
    let koningsdag = {
        let k = date(Month::April, 27);
        if k.weekday() == Weekday::Sunday {
            date(Month::April, 26)
        } else {
            k
        }
    };
    let mut days = vec![
        date(Month::January, 1),
        easter - Duration::days(2),
        easter + Duration::days(1),
        koningsdag,
        date(Month::May, 5),
        easter + Duration::days(39),
        easter + Duration::days(50),
        date(Month::December, 25),
        date(Month::December, 26),
    ];
    days.sort();
    days.dedup();
    days
}

/// A werkdagen calendar: the statutory holidays plus configured extra days.
#[derive(Debug, Clone, Default)]
pub struct Werkdagen {
    extra: BTreeSet<Date>,
}

impl Werkdagen {
    /// The calendar with only the statutory holidays.
    pub fn new() -> Self {
        Self::default()
    }

    /// The calendar with extra non-working days (e.g. by royal decree).
    pub fn with_extra(extra: impl IntoIterator<Item = Date>) -> Self {
        Self {
            extra: extra.into_iter().collect(),
        }
    }

    /// Whether `date` is a general holiday (statutory or configured).
    pub fn is_feestdag(&self, date: Date) -> bool {
        self.extra.contains(&date) || feestdagen(date.year()).contains(&date)
    }

    /// Whether `date` is a working day: not a weekend and not a holiday.
    pub fn is_werkdag(&self, date: Date) -> bool {
        !matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday) && !self.is_feestdag(date)
    }

    /// The date `n` working days after `date` (before it when `n` is negative). `date` itself is not counted;
    /// with `n == 0` the date is returned unchanged.
    pub fn add_werkdagen(&self, date: Date, n: i64) -> Date {
        let step = if n < 0 { -1 } else { 1 };
        let mut d = date;
        let mut left = n.abs();
        while left > 0 {
            d += Duration::days(step);
            if self.is_werkdag(d) {
                left -= 1;
            }
        }
        d
    }

    /// The number of working days after `from` up to and including `to` (negative when `to` is before `from`).
    pub fn werkdagen_between(&self, from: Date, to: Date) -> i64 {
        if to < from {
            return -self.werkdagen_between(to, from);
        }
        let mut count = 0;
        let mut d = from;
        while d < to {
            d += Duration::days(1);
            if self.is_werkdag(d) {
                count += 1;
            }
        }
        count
    }
}

/// Whether `date` is a working day under the statutory calendar.
pub fn is_werkdag(date: Date) -> bool {
    Werkdagen::new().is_werkdag(date)
}

/// `date` plus `n` working days under the statutory calendar.
pub fn add_werkdagen(date: Date, n: i64) -> Date {
    Werkdagen::new().add_werkdagen(date, n)
}

/// Working days after `from` up to and including `to` under the statutory calendar.
pub fn werkdagen_between(from: Date, to: Date) -> i64 {
    Werkdagen::new().werkdagen_between(from, to)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn easter_dates() {
        assert_eq!(easter_sunday(2024), date!(2024 - 03 - 31));
        assert_eq!(easter_sunday(2025), date!(2025 - 04 - 20));
        assert_eq!(easter_sunday(2026), date!(2026 - 04 - 05));
        assert_eq!(easter_sunday(2019), date!(2019 - 04 - 21));
        assert_eq!(easter_sunday(2038), date!(2038 - 04 - 25));
        assert_eq!(easter_sunday(2008), date!(2008 - 03 - 23));
    }

    #[test]
    fn holidays_2025() {
        assert_eq!(
            feestdagen(2025),
            vec![
                date!(2025 - 01 - 01),
                date!(2025 - 04 - 18), // Goede Vrijdag
                date!(2025 - 04 - 21), // 2e paasdag
                date!(2025 - 04 - 26), // Koningsdag: the 27th is a Sunday
                date!(2025 - 05 - 05),
                date!(2025 - 05 - 29), // Hemelvaartsdag
                date!(2025 - 06 - 09), // 2e pinksterdag
                date!(2025 - 12 - 25),
                date!(2025 - 12 - 26),
            ]
        );
        assert!(feestdagen(2026).contains(&date!(2026 - 04 - 27)));
        assert!(!feestdagen(2026).contains(&date!(2026 - 04 - 26)));
    }

    #[test]
    fn across_easter() {
        // Thu 17 April 2025 + 1 werkdag: Good Friday, weekend and Easter Monday are skipped.
        assert_eq!(
            add_werkdagen(date!(2025 - 04 - 17), 1),
            date!(2025 - 04 - 22)
        );
        assert_eq!(
            werkdagen_between(date!(2025 - 04 - 17), date!(2025 - 04 - 22)),
            1
        );
        assert!(!is_werkdag(date!(2025 - 04 - 18)));
        assert!(!is_werkdag(date!(2025 - 04 - 21)));
        assert_eq!(
            add_werkdagen(date!(2025 - 04 - 22), -1),
            date!(2025 - 04 - 17)
        );
    }

    #[test]
    fn koningsdag_and_5_mei() {
        // 2025: Koningsdag on Saturday 26 April; 5 May a Monday.
        assert!(!is_werkdag(date!(2025 - 04 - 26)));
        assert_eq!(
            add_werkdagen(date!(2025 - 05 - 02), 1),
            date!(2025 - 05 - 06)
        );
        // 2026: Koningsdag Monday 27 April, 5 May a Tuesday.
        assert!(!is_werkdag(date!(2026 - 04 - 27)));
        assert!(is_werkdag(date!(2026 - 04 - 28)));
        assert!(!is_werkdag(date!(2026 - 05 - 05)));
        // Fri 24 April 2026 + 5 werkdagen: 28, 29, 30 April, 1 May, 4 May.
        assert_eq!(
            add_werkdagen(date!(2026 - 04 - 24), 5),
            date!(2026 - 05 - 04)
        );
        assert_eq!(
            add_werkdagen(date!(2026 - 04 - 24), 6),
            date!(2026 - 05 - 06)
        );
        // 2014: 27 April a Sunday → 26 April.
        assert!(feestdagen(2014).contains(&date!(2014 - 04 - 26)));
    }

    #[test]
    fn christmas_and_new_year() {
        // Wed 24 Dec 2025 + 1 werkdag → Mon 29 Dec; + 5 → Mon 5 Jan 2026 (1 Jan skipped).
        assert_eq!(
            add_werkdagen(date!(2025 - 12 - 24), 1),
            date!(2025 - 12 - 29)
        );
        assert_eq!(
            add_werkdagen(date!(2025 - 12 - 24), 5),
            date!(2026 - 01 - 05)
        );
        assert_eq!(
            werkdagen_between(date!(2025 - 12 - 24), date!(2026 - 01 - 05)),
            5
        );
    }

    #[test]
    fn extra_days_and_zero() {
        let cal = Werkdagen::with_extra([date!(2026 - 06 - 01)]);
        assert!(!cal.is_werkdag(date!(2026 - 06 - 01)));
        assert!(is_werkdag(date!(2026 - 06 - 01)));
        assert_eq!(
            cal.add_werkdagen(date!(2026 - 05 - 29), 1),
            date!(2026 - 06 - 02)
        );
        assert_eq!(
            add_werkdagen(date!(2026 - 05 - 30), 0),
            date!(2026 - 05 - 30)
        );
        assert_eq!(
            werkdagen_between(date!(2026 - 06 - 05), date!(2026 - 06 - 01)),
            -4
        );
    }
}
