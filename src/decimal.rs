//! Numbers written with one decimal, for people and for SVG attributes (both sides): the text `{:.1}` writes,
//! without core's exact float formatter. Any `{:.N}` in the browser's code keeps that formatter (about 6 KB of
//! wasm) in the main module, even when only a lazy chunk formats with a precision.

/// `value` with one decimal, rounded half to even as `format!("{value:.1}")` does. The same text for every
/// `f32` (its tenfold is exact in an `f64`); for other `f64`s it may differ in the last digit at a tie.
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

#[cfg(test)]
mod tests {
    use super::one_decimal;
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
