//! Numbers written with one decimal, for people and for SVG attributes (both sides): the text `{:.1}` writes,
//! without core's exact float formatter, and byte counts in integer arithmetic. Any `{:.N}` in the browser's
//! code keeps that formatter (about 6 KB of wasm) in the main module, even when only a lazy chunk formats with
//! a precision.

/// `value` with one decimal, rounded half to even as `format!("{value:.1}")` does. The same text for every
/// `f32` below 1e18 (its tenfold is exact in an `f64`); for other `f64`s it may differ in the last digit at a
/// tie.
pub fn one_decimal(value: f64) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    let tenths = (value * 10.0).round_ties_even();
    let sign = if tenths.is_sign_negative() { "-" } else { "" };
    // Finite and rounded: the cast only saturates beyond 1.8e18, far outside what the demo writes.
    let tenths = tenths.abs() as u64;
    format!("{sign}{}.{}", tenths / 10, tenths % 10)
}

/// `n` bytes for people, with one decimal from the first unit up: "512 B", "1.5 KB", "20.0 MB", "1.2 GB".
/// `unit` is 1000 (SI) or 1024; the tenths are rounded half up in integers, so 1050 B is "1.1 KB" (a float
/// quotient of 1.05 is just below the tie).
pub fn byte_size(n: u64, unit: u64) -> String {
    let (mut scale, mut name) = (1u64, "B");
    for next in ["KB", "MB", "GB"] {
        if n / scale < unit {
            break;
        }
        (scale, name) = (scale * unit, next);
    }
    if scale == 1 {
        return format!("{n} B");
    }
    let tenths = (u128::from(n) * 10 + u128::from(scale / 2)) / u128::from(scale);
    format!("{}.{} {name}", tenths / 10, tenths % 10)
}

#[cfg(test)]
mod tests {
    use super::{byte_size, one_decimal};
    use proptest::prelude::*;

    #[test]
    fn edge_cases_read_as_format_writes_them() {
        for v in [0.0f32, -0.0, 0.05, 0.15, 0.25, -0.04, 1.0, 999.95, 1024.0, 0.45, 2.5e-3, 6.0e5, f32::MAX / 1e25] {
            assert_eq!(one_decimal(f64::from(v)), format!("{v:.1}"), "{v:e}");
        }
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(one_decimal(v), format!("{v:.1}"));
        }
    }

    #[test]
    fn byte_sizes_in_both_units() {
        let cases = [
            (0, 1000, "0 B"),
            (999, 1000, "999 B"),
            (1000, 1000, "1.0 KB"),
            (1050, 1000, "1.1 KB"),
            (1049, 1000, "1.0 KB"),
            (999_949, 1000, "999.9 KB"),
            (999_950, 1000, "1000.0 KB"),
            (1_000_000, 1000, "1.0 MB"),
            (2_500_000_000, 1000, "2.5 GB"),
            (1023, 1024, "1023 B"),
            (1536, 1024, "1.5 KB"),
            (50 << 20, 1024, "50.0 MB"),
            (3 << 30, 1024, "3.0 GB"),
            (u64::MAX, 1024, "17179869184.0 GB"),
        ];
        for (n, unit, text) in cases {
            assert_eq!(byte_size(n, unit), text, "{n} in units of {unit}");
        }
    }

    proptest! {
        #[test]
        fn every_f32_in_the_demos_range_reads_as_format_writes_it(v in -1.0e7f32..1.0e7f32) {
            prop_assert_eq!(one_decimal(f64::from(v)), format!("{v:.1}"));
        }

        #[test]
        fn tenths_and_ties_read_as_format_writes_them(tenths in -100_000i32..100_000, tie in any::<bool>()) {
            let v = (tenths as f32 + if tie { 0.5 } else { 0.0 }) / 10.0;
            prop_assert_eq!(one_decimal(f64::from(v)), format!("{v:.1}"));
        }
    }
}
