"""Every error docagent raises on purpose. The CLI turns them into messages and exit codes."""

from __future__ import annotations

from pathlib import Path


class DocAgentError(Exception):
    """Base class: a message for the user, and the fix when there is one."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n{self.hint}"


class UserInputError(DocAgentError):
    """The user asked for something that cannot work as given (bad option, missing path)."""

    exit_code = 2


class TemplateError(UserInputError):
    """A template could not be read or understood; names the file and line."""

    def __init__(
        self, path: str | Path, message: str, *, line: int | None = None, hint: str | None = None
    ) -> None:
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {message}", hint=hint)
        self.path = str(path)
        self.line = line


class TemplateNotFoundError(TemplateError):
    """Neither a shipped template name nor an existing file."""


class RepositoryError(UserInputError):
    """The repository path is missing or unusable."""


class OutputError(DocAgentError):
    """An output file cannot be written without losing someone's work."""


class OutputPathError(UserInputError):
    """The output path cannot be written at all (a directory, an unwritable folder); found before
    any model call."""


class CallLogError(DocAgentError):
    """The call log (`calls.db`) is locked by another process for too long, or is not a database."""

    exit_code = 2

    def __init__(self, message: str, *, path: str | Path, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.path = str(path)


class AllCallsFailedError(DocAgentError):
    """Every model call of a run failed: nothing useful came back (a draft then writes nothing)."""

    def __init__(
        self, message: str, *, hint: str | None = None, calls: int = 0, cause: str = ""
    ) -> None:
        super().__init__(message, hint=hint)
        self.calls = calls
        self.cause = cause


class ModelError(DocAgentError):
    """Base for failures of a model call; carries what was spent so callers can account for it."""

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        attempts: int = 0,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        status: int | None = None,
        body: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.attempts = attempts
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens
        # What the endpoint answered, for callers that decide on it (the message says it too).
        self.status = status  # the HTTP status, when the endpoint answered with one
        self.body = body  # the start of its error body
        self.retry_after = retry_after  # seconds the endpoint asked to wait (Retry-After)


class ModelNotConfiguredError(ModelError):
    """No endpoint is configured and the embedded model is not installed."""

    exit_code = 2


class EndpointCheckError(ModelNotConfiguredError):
    """The preflight call found the endpoint unusable before anything was spent: unreachable, hung,
    unknown model, bad credentials, structured output rejected, or an empty or oversized reply."""

    def __init__(self, message: str, *, cause: str, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.cause = cause


class ModelUnavailableError(ModelError):
    """The endpoint did not answer usefully after retries (connection, 5xx, 429, timeout)."""


class ModelCancelledError(ModelError):
    """The run was interrupted (Ctrl-C): queued calls are not sent."""


class ModelBadReplyError(ModelError):
    """The endpoint answered with no choices, or with a reply far larger than its token limit allows."""


class ModelRefusalError(ModelError):
    """The model refused to answer."""


class ModelTruncatedError(ModelError):
    """The answer was cut off at the token limit (finish_reason == 'length').

    `partial` is the text received before the cut, so callers can keep what was complete."""

    def __init__(self, message: str, *, partial: str = "", **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.partial = partial


class ModelContentFilterError(ModelError):
    """The provider's content filter stopped the answer."""


class ModelValidationError(ModelError):
    """The answer never validated against the schema, even after re-asking."""

    def __init__(self, message: str, *, last_error: str = "", **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.last_error = last_error


class BudgetExceededError(ModelError):
    """The run's token budget would be exceeded by the next call."""

    exit_code = 3
