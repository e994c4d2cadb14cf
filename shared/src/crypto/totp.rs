//! Authenticator codes: TOTP per RFC 6238 (HMAC-SHA1, 6 digits, 30-second steps, one step either
//! side), the key URI authenticator apps read, and its QR code.

use super::CryptoError;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, Builder};

pub const STEP_SECS: i64 = 30;
pub const DIGITS: usize = 6;
/// Steps accepted either side of the current one, for clocks that drift and codes typed slowly.
pub const WINDOW_STEPS: i64 = 1;
/// 160 bits, as RFC 4226 recommends.
pub const SECRET_BYTES: usize = 20;

/// Everything but RFC 3986's unreserved characters is percent-encoded.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A fresh secret from the operating system's generator.
pub fn new_secret() -> Result<[u8; SECRET_BYTES], CryptoError> {
    super::random::random_bytes::<SECRET_BYTES>()
}

/// The secret as typed into an app by hand: base32, no padding.
pub fn base32(secret: &[u8]) -> String {
    data_encoding::BASE32_NOPAD.encode(secret)
}

/// Google Authenticator's key URI: `otpauth://totp/Issuer:login?secret=...&issuer=Issuer&...`.
pub fn otpauth_uri(issuer: &str, login: &str, secret: &[u8]) -> String {
    let issuer = utf8_percent_encode(issuer, COMPONENT).to_string();
    let login = utf8_percent_encode(login, COMPONENT).to_string();
    format!(
        "otpauth://totp/{issuer}:{login}?secret={}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
        base32(secret)
    )
}

/// The code of one step.
pub fn code_at_step(secret: &[u8], step: i64) -> Result<String, CryptoError> {
    let totp = Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(DIGITS as u8)
        .with_skew(1)
        .with_step_duration(STEP_SECS as u64)
        .with_secret(secret.to_vec())
        .build()
        .map_err(|_| CryptoError)?;
    Ok(totp.generate((step.max(0) * STEP_SECS) as u64).to_string())
}

/// The step whose code `code` is, among the current step and one either side that are later than
/// `last_step`; None when the code is wrong, malformed or already used.
pub fn accepted_step(
    secret: &[u8],
    code: &str,
    now_secs: i64,
    last_step: Option<i64>,
) -> Result<Option<i64>, CryptoError> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let current = now_secs.div_euclid(STEP_SECS);
    let mut accepted = None;
    for step in current - WINDOW_STEPS..=current + WINDOW_STEPS {
        if last_step.is_some_and(|last| step <= last) {
            continue;
        }
        let expected = code_at_step(secret, step)?;
        if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) && accepted.is_none() {
            accepted = Some(step);
        }
    }
    Ok(accepted)
}

/// A QR code of `text` as a `data:image/png;base64,...` URI: 8 pixels a module, a 4-module quiet zone,
/// one bit a pixel (the whole setup answer is 1.7 KB; with 8-bit grey it was 30 KB).
pub fn qr_png_data_uri(text: &str) -> Result<String, CryptoError> {
    use qrcodegen::{QrCode, QrCodeEcc};
    let qr = QrCode::encode_text(text, QrCodeEcc::Medium).map_err(|_| CryptoError)?;
    const SCALE: i32 = 8;
    const BORDER: i32 = 4;
    let modules = qr.size() + 2 * BORDER;
    let side = (modules * SCALE) as u32;
    // Rows of bits, most significant first, each padded to whole bytes; 1 is white.
    let row_bytes = (side as usize).div_ceil(8);
    let mut pixels = vec![0u8; row_bytes * side as usize];
    for y in 0..side as i32 {
        for x in 0..side as i32 {
            if !qr.get_module(x / SCALE - BORDER, y / SCALE - BORDER) {
                pixels[y as usize * row_bytes + x as usize / 8] |= 0x80 >> (x % 8);
            }
        }
    }
    let mut png_bytes = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut png_bytes, side, side);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::One);
        encoder.set_compression(png::Compression::Best);
        // Each row repeats the one above it 7 times in 8: "Up" turns those rows into zeros.
        encoder.set_filter(png::FilterType::Up);
        let mut writer = encoder.write_header().map_err(|_| CryptoError)?;
        writer.write_image_data(&pixels).map_err(|_| CryptoError)?;
    }
    Ok(format!(
        "data:image/png;base64,{}",
        STANDARD.encode(png_bytes)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_SECRET: &[u8] = b"12345678901234567890";

    /// RFC 6238 Appendix B, SHA1 column (8 digits), T=20000000000 included.
    const RFC_VECTORS: [(u64, &str); 6] = [
        (59, "94287082"),
        (1_111_111_109, "07081804"),
        (1_111_111_111, "14050471"),
        (1_234_567_890, "89005924"),
        (2_000_000_000, "69279037"),
        (20_000_000_000, "65353130"),
    ];

    #[test]
    fn rfc_6238_sha1_vectors_with_eight_digits() {
        let totp = Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(8)
            .with_step_duration(30)
            .with_secret(RFC_SECRET.to_vec())
            .build()
            .unwrap();
        for (time, expected) in RFC_VECTORS {
            assert_eq!(totp.generate(time).to_string(), expected, "T={time}");
        }
    }

    #[test]
    fn rfc_6238_sha1_vectors_as_the_service_computes_them() {
        // Six digits are the low six of the eight (the same dynamic truncation, mod 10^6).
        for (time, expected) in RFC_VECTORS {
            let step = time as i64 / STEP_SECS;
            assert_eq!(
                code_at_step(RFC_SECRET, step).unwrap(),
                &expected[2..],
                "T={time}"
            );
            assert_eq!(
                accepted_step(RFC_SECRET, &expected[2..], time as i64, None).unwrap(),
                Some(step)
            );
        }
    }

    #[test]
    fn one_step_either_side_is_accepted_and_no_further() {
        let now = 1_234_567_890;
        let current = now / STEP_SECS;
        for offset in [-1, 0, 1] {
            let code = code_at_step(RFC_SECRET, current + offset).unwrap();
            assert_eq!(
                accepted_step(RFC_SECRET, &code, now, None).unwrap(),
                Some(current + offset)
            );
        }
        for offset in [-2, 2] {
            let code = code_at_step(RFC_SECRET, current + offset).unwrap();
            assert_eq!(accepted_step(RFC_SECRET, &code, now, None).unwrap(), None);
        }
    }

    #[test]
    fn a_step_at_or_before_the_last_accepted_is_refused() {
        let now = 1_234_567_890;
        let current = now / STEP_SECS;
        let code = code_at_step(RFC_SECRET, current).unwrap();
        assert_eq!(
            accepted_step(RFC_SECRET, &code, now, Some(current)).unwrap(),
            None
        );
        assert_eq!(
            accepted_step(RFC_SECRET, &code, now, Some(current + 1)).unwrap(),
            None
        );
        assert_eq!(
            accepted_step(RFC_SECRET, &code, now, Some(current - 1)).unwrap(),
            Some(current)
        );
        let earlier = code_at_step(RFC_SECRET, current - 1).unwrap();
        assert_eq!(
            accepted_step(RFC_SECRET, &earlier, now, Some(current)).unwrap(),
            None
        );
    }

    #[test]
    fn malformed_codes_are_refused() {
        for code in ["", "12345", "1234567", "abcdef", "12 34 5x", "１２３４５６"] {
            assert_eq!(
                accepted_step(RFC_SECRET, code, 59, None).unwrap(),
                None,
                "{code}"
            );
        }
        let code = code_at_step(RFC_SECRET, 1).unwrap();
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert_eq!(
            accepted_step(RFC_SECRET, &spaced, 59, None).unwrap(),
            Some(1)
        );
    }

    #[test]
    fn the_key_uri_follows_google_authenticators_format() {
        let uri = otpauth_uri("Example Cloud", "alice@example.com", RFC_SECRET);
        assert_eq!(
            uri,
            "otpauth://totp/Example%20Cloud:alice%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Example%20Cloud&algorithm=SHA1&digits=6&period=30"
        );
        assert_eq!(base32(&new_secret().unwrap()).len(), 32);
    }

    #[test]
    fn the_qr_code_decodes_to_the_key_uri() {
        let uri = otpauth_uri(
            "Ward",
            "bob:the builder@example.com",
            &new_secret().unwrap(),
        );
        let data_uri = qr_png_data_uri(&uri).unwrap();
        let png = STANDARD
            .decode(data_uri.strip_prefix("data:image/png;base64,").unwrap())
            .unwrap();
        let image = image::load_from_memory(&png).unwrap().to_luma8();
        // 8 pixels a module and a quiet zone of 4 white modules on every side.
        let size = qrcodegen::QrCode::encode_text(&uri, qrcodegen::QrCodeEcc::Medium)
            .unwrap()
            .size() as u32;
        let side = (size + 2 * 4) * 8;
        assert_eq!((image.width(), image.height()), (side, side));
        for along in 0..side {
            for across in (0..32).chain(side - 32..side) {
                assert_eq!(image.get_pixel(along, across).0, [255], "quiet zone");
                assert_eq!(image.get_pixel(across, along).0, [255], "quiet zone");
            }
        }
        let mut prepared = rqrr::PreparedImage::prepare(image);
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1);
        let (_, content) = grids[0].decode().unwrap();
        assert_eq!(content, uri);
        assert!(data_uri.len() < 4096, "{} bytes", data_uri.len());
    }
}
