//! Route tables: each face lists the routes it serves once, as [`Route`]s; its `configure` mounts
//! them and the server's `/openapi.json` describes them, so neither can drift from the other.

use actix_web::http::Method;
use actix_web::{web, FromRequest, Handler, Responder};

/// The methods the faces' operations use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Get,
    Post,
    Put,
    Delete,
}

impl Verb {
    /// As HTTP writes it (`GET`), for `Allow`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Delete => "DELETE",
        }
    }

    pub fn method(self) -> Method {
        match self {
            Self::Get => Method::GET,
            Self::Post => Method::POST,
            Self::Put => Method::PUT,
            Self::Delete => Method::DELETE,
        }
    }

    /// As OpenAPI writes it (`get`).
    pub fn openapi(self) -> String {
        self.as_str().to_ascii_lowercase()
    }
}

/// One operation a face serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub method: Verb,
    /// The path under the face's prefix (Interact's base, Context Services' mount), as an actix
    /// and OpenAPI template (`/interactions/{interaction_id}`).
    pub path: &'static str,
    /// The operation's name: its label in the request log and metrics, and OpenAPI's
    /// `x-ixgw-operation`.
    pub operation: &'static str,
}

impl Route {
    pub const fn new(method: Verb, path: &'static str, operation: &'static str) -> Self {
        Self { method, path, operation }
    }

    /// A `GET` operation: every read route of the faces.
    pub const fn get(path: &'static str, operation: &'static str) -> Self {
        Self::new(Verb::Get, path, operation)
    }

    /// The actix route of this method to `handler`, for `web::resource(path)`.
    pub fn to<F, Args>(&self, handler: F) -> actix_web::Route
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        web::method(self.method.method()).to(handler)
    }
}
