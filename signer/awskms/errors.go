package awskms

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"
	"github.com/keyfence/keyfence/signer"
)

// Errors of this backend. A failed call to KMS is an *Error, which also
// matches the signer sentinel of its kind (signer.ErrKeyNotFound,
// signer.ErrKeyDisabled, signer.ErrAccessDenied, signer.ErrWrongAlgorithm,
// signer.ErrUnavailable); failures about one key are wrapped in a
// *signer.KeyError that names it.
var (
	// ErrMessageTooLarge: KMS signs and MACs at most MaxMessageSize
	// bytes; a longer message is refused before any call. Errors of this
	// kind are *MessageTooLargeError.
	ErrMessageTooLarge = errors.New("awskms: message too large for KMS")
	// ErrThrottled: KMS throttled the request (ThrottlingException) after
	// the SDK's retries. It is retryable and also matches
	// signer.ErrUnavailable.
	ErrThrottled = errors.New("awskms: KMS is throttling requests")
	// ErrUnsupportedKey: the KMS key's spec or usage is not one keyfence
	// signs with (an AES key for a signature, a P-384 key, ...).
	ErrUnsupportedKey = errors.New("awskms: the KMS key cannot sign for keyfence")
)

// MaxMessageSize is the largest message KMS Sign (MessageType RAW) and
// GenerateMac accept.
const MaxMessageSize = 4096

// MessageTooLargeError reports a message longer than MaxMessageSize. It
// matches ErrMessageTooLarge.
type MessageTooLargeError struct{ Size int }

func (e *MessageTooLargeError) Error() string {
	return fmt.Sprintf("awskms: the message is %d bytes; KMS signs at most %d: shorten the request", e.Size, MaxMessageSize)
}

// Is reports whether target is ErrMessageTooLarge.
func (e *MessageTooLargeError) Is(target error) bool { return target == ErrMessageTooLarge }

// Error is a failed call to KMS: the operation, the error code KMS
// returned and the request ID to quote to AWS support. It matches the
// signer sentinel in Err and, for throttling, ErrThrottled.
type Error struct {
	Op        string // KMS operation, e.g. "Sign"
	Code      string // KMS error code, e.g. "NotFoundException"
	RequestID string
	// Retryable reports whether the same call may succeed later
	// (throttling, an internal error, a dependency timeout).
	Retryable bool
	Err       error // a signer sentinel, or the SDK's error when none applies
	throttled bool
}

func (e *Error) Error() string {
	hint := ""
	switch {
	case errors.Is(e.Err, signer.ErrKeyNotFound):
		hint = ": check the key ID, alias or ARN and the region"
	case errors.Is(e.Err, signer.ErrKeyDisabled):
		hint = ": enable the key (or cancel its deletion) in KMS"
	case errors.Is(e.Err, signer.ErrAccessDenied):
		hint = ": check the credentials and the key policy (kms:Sign, kms:GenerateMac, kms:DescribeKey)"
	case e.Retryable:
		hint = ": retry later"
	}
	s := "awskms: " + e.Op + ": " + e.Code
	if e.RequestID != "" {
		s += " (request " + e.RequestID + ")"
	}
	if e.Err != nil && e.Err.Error() != e.Code {
		s += ": " + e.Err.Error()
	}
	return s + hint
}

func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is ErrThrottled for a throttled call.
func (e *Error) Is(target error) bool { return target == ErrThrottled && e.throttled }

// mapError turns an SDK error into an *Error, or returns the context's
// error when ctx is done.
func mapError(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("awskms: %s: %w", op, cerr)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return fmt.Errorf("awskms: %s: %w", op, err)
	}
	e := &Error{Op: op, Code: "RequestFailed"}
	var re interface{ ServiceRequestID() string }
	if errors.As(err, &re) {
		e.RequestID = re.ServiceRequestID()
	}
	var api smithy.APIError
	if !errors.As(err, &api) {
		// No answer from KMS (connection refused, DNS, TLS): the network
		// may recover.
		e.Retryable = true
		e.Err = fmt.Errorf("%w: %w", signer.ErrUnavailable, err)
		return e
	}
	e.Code = api.ErrorCode()
	var (
		notFound *types.NotFoundException
		disabled *types.DisabledException
		state    *types.KMSInvalidStateException
		usage    *types.InvalidKeyUsageException
	)
	switch {
	case errors.As(err, &notFound):
		e.Err = signer.ErrKeyNotFound
	case errors.As(err, &disabled), errors.As(err, &state):
		e.Err = signer.ErrKeyDisabled
	case errors.As(err, &usage):
		e.Err = signer.ErrWrongAlgorithm
	default:
		switch e.Code {
		case "AccessDeniedException", "UnrecognizedClientException", "InvalidSignatureException",
			"IncompleteSignature", "MissingAuthenticationToken", "ExpiredTokenException", "InvalidClientTokenId":
			e.Err = signer.ErrAccessDenied
		case "ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded":
			e.Err, e.Retryable, e.throttled = signer.ErrUnavailable, true, true
		case "KMSInternalException", "DependencyTimeoutException", "KeyUnavailableException", "ServiceUnavailable", "InternalFailure":
			e.Err, e.Retryable = signer.ErrUnavailable, true
		default:
			e.Err = errors.New(api.ErrorCode())
		}
	}
	return e
}
