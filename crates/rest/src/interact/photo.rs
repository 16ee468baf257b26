//! `.../photo/{uid}/{imgPath}[?maxSize=N]`: the bytes of an uploaded photo.
//!
//! `{imgPath}` is the path the full flow shows, URL-encoded **twice** by the client
//! (`%252Fmnt%252F…`): the router's decoding leaves `%2Fmnt%2F…`, and one more percent-decoding
//! gives the path. The older form writes the file name's `.` as `@@@@@`
//! (`i1152998580@@@@@jpg`); it is tried when the path as written is not found.

use super::{reply, request};
use actix_web::http::header::{HeaderValue, CONTENT_TYPE};
use actix_web::{web, HttpRequest, HttpResponse};
use image::{ImageFormat, ImageReader, Limits};
use ixgw_core::store::StoredPhoto;
use ixgw_core::{HistoryError, HistoryService, Principal, StoreError};
use percent_encoding::percent_decode_str;
use std::io::Cursor;

/// The legacy stand-in for the `.` of a file name.
const LEGACY_DOT: &str = "@@@@@";

/// The most a photo may take to decode for scaling: far above any phone photo, small enough that a
/// hostile image cannot exhaust memory.
const MAX_DECODE_BYTES: u64 = 64 * 1024 * 1024;

pub async fn photo(req: HttpRequest, service: web::Data<HistoryService>) -> HttpResponse {
    let outcome = async {
        let who = request::authenticate(&req, &service).await?;
        let max_size = request::max_size(&req)?;
        let uid = request::segment(&req, "uid");
        let path = image_path(&request::segment(&req, "imgPath")).ok_or_else(|| HistoryError::invalid("path"))?;
        let StoredPhoto { mime, data } = find(&service, &who, &uid, &path).await?;
        let data = match max_size {
            Some(max) => web::block(move || scale(data, max))
                .await
                .map_err(|e| internal(format!("scaling did not finish: {e}")))?
                .map_err(|e| internal(format!("stored photo cannot be scaled: {e}")))?,
            None => data,
        };
        // The stored MIME type was checked at import; a value that cannot be a header is served
        // as what it certainly is.
        let content_type = HeaderValue::from_str(&mime).unwrap_or(HeaderValue::from_static("application/octet-stream"));
        Ok(HttpResponse::Ok().insert_header((CONTENT_TYPE, content_type)).body(data))
    };
    reply::answer(&req, "photo", outcome.await)
}

/// A photo URL that lacks its uid or path, or whose path was not encoded into one segment.
pub async fn incomplete(req: HttpRequest, service: web::Data<HistoryService>) -> HttpResponse {
    let outcome = async {
        request::authenticate(&req, &service).await?;
        let has_uid = !request::segment(&req, "rest").split('/').next().unwrap_or_default().is_empty();
        Err(HistoryError::invalid(if has_uid { "path" } else { "uid" }))
    };
    reply::answer(&req, "photo", outcome.await)
}

/// The stored path from the segment as the router decoded it once: one more percent-decoding.
/// `None` when that does not give UTF-8 text.
fn image_path(segment: &str) -> Option<String> {
    percent_decode_str(segment).decode_utf8().ok().map(|p| p.into_owned()).filter(|p| !p.is_empty())
}

/// The path with the legacy `@@@@@` of its file name read as `.`; `None` if it has none.
fn legacy_path(path: &str) -> Option<String> {
    let name_at = path.rfind('/').map_or(0, |i| i + 1);
    let name = &path[name_at..];
    name.contains(LEGACY_DOT).then(|| format!("{}{}", &path[..name_at], name.replace(LEGACY_DOT, ".")))
}

/// The path as written, else its legacy reading.
async fn find(service: &HistoryService, who: &Principal, uid: &str, path: &str) -> Result<StoredPhoto, HistoryError> {
    match (service.photo(who, uid, path).await, legacy_path(path)) {
        (Err(HistoryError::PhotoNotFound), Some(legacy)) => service.photo(who, uid, &legacy).await,
        (found, _) => found,
    }
}

fn internal(message: String) -> HistoryError {
    HistoryError::Internal(StoreError::Failed(message))
}

/// Scales an image so that its longer side is at most `max` pixels, keeping its aspect ratio and
/// format. Images that fit already are returned untouched (never upscaled, never re-encoded).
fn scale(data: Vec<u8>, max: u32) -> image::ImageResult<Vec<u8>> {
    let reader = || -> image::ImageResult<ImageReader<Cursor<&[u8]>>> {
        let mut reader = ImageReader::new(Cursor::new(data.as_slice())).with_guessed_format()?;
        let mut limits = Limits::default();
        limits.max_alloc = Some(MAX_DECODE_BYTES);
        reader.limits(limits);
        Ok(reader)
    };
    let (width, height) = reader()?.into_dimensions()?;
    if width.max(height) <= max {
        return Ok(data);
    }
    let reader = reader()?;
    let format = reader.format().unwrap_or(ImageFormat::Png);
    let scaled = reader.decode()?.resize(max, max, image::imageops::FilterType::Triangle);
    let mut out = Cursor::new(Vec::new());
    scaled.write_to(&mut out, format)?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{DynamicImage, GenericImageView, RgbImage};

    #[test]
    fn paths_are_decoded_once_more() {
        assert_eq!(image_path("%2Fmnt%2Fsdcard%2Fi1").as_deref(), Some("/mnt/sdcard/i1"));
        assert_eq!(image_path("/mnt/x").as_deref(), Some("/mnt/x"));
        assert_eq!(image_path("%2Fa%25b").as_deref(), Some("/a%b"));
        assert_eq!(image_path("%2Fa%FF"), None);
        assert_eq!(image_path(""), None);
    }

    #[test]
    fn the_legacy_form_maps_only_the_file_name() {
        assert_eq!(legacy_path("/mnt/d/i1@@@@@jpg").as_deref(), Some("/mnt/d/i1.jpg"));
        assert_eq!(legacy_path("i1@@@@@tar@@@@@gz").as_deref(), Some("i1.tar.gz"));
        assert_eq!(legacy_path("/m@@@@@x/i1").as_deref(), None);
        assert_eq!(legacy_path("/mnt/d/i1.jpg"), None);
    }

    fn encoded(width: u32, height: u32, format: ImageFormat) -> Vec<u8> {
        let image = DynamicImage::ImageRgb8(RgbImage::from_fn(width, height, |x, y| image::Rgb([x as u8, y as u8, 7])));
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    #[test]
    fn scaling_keeps_aspect_and_format_and_never_upscales() {
        for format in [ImageFormat::Png, ImageFormat::Jpeg] {
            let original = encoded(160, 100, format);
            let scaled = scale(original.clone(), 80).unwrap();
            assert_eq!(image::guess_format(&scaled).unwrap(), format);
            assert_eq!(image::load_from_memory(&scaled).unwrap().dimensions(), (80, 50));
            let tall = scale(encoded(30, 120, format), 60).unwrap();
            assert_eq!(image::load_from_memory(&tall).unwrap().dimensions(), (15, 60));
            assert_eq!(scale(original.clone(), 160).unwrap(), original, "fits already: untouched");
            assert_eq!(scale(original.clone(), 5000).unwrap(), original, "never upscaled");
        }
    }

    #[test]
    fn what_is_not_an_image_is_an_error_not_a_panic() {
        assert!(scale(b"not an image".to_vec(), 10).is_err());
        let mut truncated = encoded(160, 100, ImageFormat::Png);
        truncated.truncate(60);
        assert!(scale(truncated, 10).is_err());
    }
}
