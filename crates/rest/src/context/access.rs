//! Who is asking: the tenant (`ContactCenterId`, else the configured default) and the caller's
//! credentials for it.
//!
//! `GroupId` (a Genesys business unit) is accepted and does not select anything: the gateway has no
//! business units, and refusing the names existing clients send would break them. The environment
//! comes from the key (or `Environment-Name`), as on every other surface.

use super::error::Failure;
use crate::RestSettings;
use actix_web::http::header::HeaderMap;
use actix_web::HttpRequest;
use ixgw_core::{HistoryError, HistoryService, Principal, Scope};
use std::borrow::Cow;

pub(super) const CONTACT_CENTER_ID: &str = "ContactCenterId";

/// The principal a Context Services request reads as.
pub(super) async fn principal(
    req: &HttpRequest,
    service: &HistoryService,
    settings: &RestSettings,
) -> Result<Principal, Failure> {
    let headers = req.headers();
    let asked = contact_center_id(headers);
    let default = settings.context_default_tenant.as_deref();
    let tenant = match service.context_tenant(asked.as_deref(), default).await {
        Ok(tenant) => tenant,
        // The configured default does not exist: the request named no tenant, and the vendor's
        // answer for that says to verify the configuration.
        Err(HistoryError::UnknownTenant(name)) if asked.is_none() => {
            tracing::warn!(tenant = %name, "context_services.default_tenant names no tenant");
            return Err(HistoryError::NoTenant.into());
        }
        Err(e) => return Err(e.into()),
    };
    let credentials = ixgw_web::credentials(headers);
    let who = if settings.context_open_access && credentials.key.is_none_or(str::is_empty) {
        tenant.open_principal(credentials.environment).map_err(HistoryError::Unauthenticated)?
    } else {
        service.authenticate(&tenant.account_id, credentials, Scope::Read).await?
    };
    ixgw_web::authenticated(req, &who);
    Ok(who)
}

/// The `ContactCenterId` header as sent. A value that is not visible ASCII still names a tenant
/// (an unknown one), rather than falling back to the default.
fn contact_center_id(headers: &HeaderMap) -> Option<Cow<'_, str>> {
    let value = headers.get(CONTACT_CENTER_ID)?;
    Some(match value.to_str() {
        Ok(text) => Cow::Borrowed(text.trim()),
        Err(_) => String::from_utf8_lossy(value.as_bytes()).into_owned().into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderValue;

    #[test]
    fn contact_center_id_as_sent() {
        let mut headers = HeaderMap::new();
        assert_eq!(contact_center_id(&headers), None);
        headers.insert(CONTACT_CENTER_ID.try_into().unwrap(), HeaderValue::from_static(" 12345678 "));
        assert_eq!(contact_center_id(&headers).as_deref(), Some("12345678"));
        headers.insert(CONTACT_CENTER_ID.try_into().unwrap(), HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap());
        assert_eq!(contact_center_id(&headers).as_deref(), Some("café"));
    }
}
