//! Money amounts: the decimal strings of the input files and flags ("125000.50") turned into
//! minor units of an ISO 4217 currency, and minor units formatted back for display.

use crate::error::{ClientError, Result};

/// Digits after the decimal point of an ISO 4217 currency's minor unit.
pub fn minor_digits(currency: &str) -> u32 {
    match currency {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX"
        | "UYI" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        _ => 2,
    }
}

/// A decimal amount ("125000.50") in minor units of `currency`; more decimals than the currency
/// has, signs, exponents and overflow are errors naming `field`.
pub fn parse_amount(field: &str, s: &str, currency: &str) -> Result<u64> {
    let digits = minor_digits(currency);
    let bad = |why: &str| {
        ClientError::Input(format!(
            "{field}: {why}; expected a decimal string such as \"1250.00\", got {s:?}"
        ))
    };
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("not a decimal number"));
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) || (s.contains('.') && frac.is_empty()) {
        return Err(bad("not a decimal number"));
    }
    if frac.len() > digits as usize {
        return Err(bad(&format!("{currency} has {digits} decimals")));
    }
    let scale = 10u64.pow(digits);
    let whole: u64 = int.parse().map_err(|_| bad("too large"))?;
    let mut part: u64 = if frac.is_empty() {
        0
    } else {
        frac.parse().map_err(|_| bad("not a decimal number"))?
    };
    for _ in frac.len()..digits as usize {
        part *= 10;
    }
    whole
        .checked_mul(scale)
        .and_then(|w| w.checked_add(part))
        .ok_or_else(|| bad("too large"))
}

/// Formats minor units as a decimal string of `currency`.
pub fn format_amount(minor: u64, currency: &str) -> String {
    let digits = minor_digits(currency);
    if digits == 0 {
        return minor.to_string();
    }
    let scale = 10u64.pow(digits);
    format!(
        "{}.{:0width$}",
        minor / scale,
        minor % scale,
        width = digits as usize
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts() {
        assert_eq!(parse_amount("a", "125000.50", "USD").ok(), Some(12_500_050));
        assert_eq!(parse_amount("a", "125000.5", "USD").ok(), Some(12_500_050));
        assert_eq!(parse_amount("a", "125000", "USD").ok(), Some(12_500_000));
        assert_eq!(parse_amount("a", "1000", "JPY").ok(), Some(1000));
        assert_eq!(parse_amount("a", "1.234", "KWD").ok(), Some(1234));
        for bad in [
            "",
            "1.",
            ".5",
            "-1",
            "1e5",
            "1.001",
            "1,00",
            "99999999999999999999",
        ] {
            assert!(parse_amount("a", bad, "USD").is_err(), "{bad}");
        }
        assert_eq!(format_amount(12_500_050, "USD"), "125000.50");
        assert_eq!(format_amount(5, "JPY"), "5");
    }
}
