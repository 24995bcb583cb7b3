//! Azure Storage error responses (`<Error><Code>..</Code><Message>..</Message></Error>`).

use http::StatusCode;

use super::xml::escape;

/// A failed Blob operation, rendered as Azure's XML error body with `x-ms-error-code`.
#[derive(Debug, Clone)]
pub(crate) struct BlobError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Extra headers (e.g. `Content-Range` on 416).
    pub headers: Vec<(&'static str, String)>,
    /// Extra XML elements after `<Message>` (already escaped).
    pub detail: Option<String>,
}

impl BlobError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            headers: Vec::new(),
            detail: None,
        }
    }

    pub fn with_header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }

    pub fn with_detail(mut self, name: &str, value: &str) -> Self {
        self.detail = Some(format!("<{name}>{}</{name}>", escape(value)));
        self
    }

    pub fn auth_failed(why: impl Into<String>) -> Self {
        let why = why.into();
        Self::new(
            StatusCode::FORBIDDEN,
            "AuthenticationFailed",
            "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.",
        )
        .with_detail("AuthenticationErrorDetail", &why)
    }

    pub fn permission_mismatch(needed: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "AuthorizationPermissionMismatch",
            format!("This request is not authorized to perform this operation using this permission. The SAS needs permission `{needed}` (sp)."),
        )
    }

    pub fn resource_type_mismatch(why: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "AuthorizationResourceTypeMismatch",
            format!("This request is not authorized to perform this operation using this resource type. {why}"),
        )
    }

    pub fn container_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "ContainerNotFound",
            "The specified container does not exist.",
        )
    }

    pub fn blob_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "BlobNotFound",
            "The specified blob does not exist.",
        )
    }

    pub fn condition_not_met() -> Self {
        Self::new(
            StatusCode::PRECONDITION_FAILED,
            "ConditionNotMet",
            "The condition specified using HTTP conditional header(s) is not met.",
        )
    }

    pub fn invalid_header(name: &str, why: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "InvalidHeaderValue",
            format!("The value for one of the HTTP headers is not in the correct format: {why}"),
        )
        .with_detail("HeaderName", name)
    }

    pub fn invalid_query(name: &str, why: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "InvalidQueryParameterValue",
            format!("Value for one of the query parameters specified in the request URI is invalid: {why}"),
        )
        .with_detail("QueryParameterName", name)
    }

    pub fn not_implemented(operation: &str) -> Self {
        Self::new(
            StatusCode::NOT_IMPLEMENTED,
            "NotImplemented",
            format!("{operation} is not supported by this emulator. Supported: containers (create, delete, list, get properties, set metadata) and block blobs (put blob, put block, put block list, get block list, get, get properties, set metadata, set properties, delete, list)."),
        )
    }

    pub fn internal(e: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            format!("The server encountered an internal error: {e}"),
        )
    }

    pub fn body_xml(&self) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{}</Code><Message>{}</Message>{}</Error>",
            self.code,
            escape(&self.message),
            self.detail.as_deref().unwrap_or("")
        )
    }
}

impl From<crate::Error> for BlobError {
    fn from(e: crate::Error) -> Self {
        BlobError::internal(e)
    }
}

pub(crate) type BlobResult<T> = Result<T, BlobError>;
