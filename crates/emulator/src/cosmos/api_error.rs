//! Errors returned to clients as Cosmos error responses.

use http::StatusCode;

/// A Cosmos-style error: HTTP status, `code` and `message` of the JSON body, and an optional
/// `x-ms-substatus`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub substatus: Option<u32>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            substatus: None,
        }
    }

    pub(crate) fn with_substatus(mut self, substatus: u32) -> Self {
        self.substatus = Some(substatus);
        self
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "BadRequest", message)
    }

    pub(crate) fn not_found(what: &str) -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("Entity with the specified id does not exist in the system. ({what})"),
        )
    }

    pub(crate) fn owner_not_found(what: &str) -> Self {
        ApiError::not_found(what).with_substatus(1003)
    }

    pub(crate) fn conflict(what: &str) -> Self {
        ApiError::new(
            StatusCode::CONFLICT,
            "Conflict",
            format!("Entity with the specified id already exists in the system. ({what})"),
        )
    }

    pub(crate) fn precondition_failed() -> Self {
        ApiError::new(
            StatusCode::PRECONDITION_FAILED,
            "PreconditionFailed",
            "Operation cannot be performed because one of the specified precondition is not met. Read the item again and retry with its current _etag.",
        )
    }

    pub(crate) fn not_implemented(what: &str) -> Self {
        ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            "NotImplemented",
            format!("{what} is not supported by this Cosmos DB emulator."),
        )
    }

    pub(crate) fn internal(err: &crate::cosmos::Error) -> Self {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            err.to_string(),
        )
    }
}

impl From<crate::cosmos::Error> for ApiError {
    fn from(e: crate::cosmos::Error) -> Self {
        tracing::error!(error = %e, "cosmos emulator storage failure");
        ApiError::internal(&e)
    }
}
