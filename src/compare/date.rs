//! Dates for comparisons: the parsing lives with the data ([`crate::data::date`]), since inputs
//! normalise their dates to one form as they are read; comparisons read that form.

pub use crate::data::date::{
    DateFormat, UnknownDateFormat, date_diff_days, days_from_civil, days_in_month, format_civil,
    is_leap_year, parse_civil, parse_date,
};
