package domain

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"

	"github.com/go-playground/validator/v10"
)

var (
	// ErrNotFound: a case, seizure, exhibit, transfer, report, hold or
	// discrepancy the command names does not exist (HTTP 404).
	ErrNotFound = errors.New("domain: not found")
	// ErrForbidden: the principal's roles or agency do not allow the command
	// (HTTP 403).
	ErrForbidden = errors.New("domain: forbidden")
	// ErrRule is matched by every *RuleError (HTTP 409).
	ErrRule = errors.New("domain: rule refused the command")
	// ErrValidation is matched by every *ValidationError (HTTP 422).
	ErrValidation = errors.New("domain: invalid command")
)

// RuleError is a command refused by a domain rule in the current state
// (HTTP 409). Code is stable (for example "custody.pending-transfer") and is
// what clients and tests match on; Field names the JSON field of the command
// concerned, if any.
type RuleError struct {
	Code    string
	Field   string
	Message string
}

func (e *RuleError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("domain: %s (%s): %s", e.Code, e.Field, e.Message)
	}
	return fmt.Sprintf("domain: %s: %s", e.Code, e.Message)
}

// Is makes errors.Is(err, ErrRule) true for every RuleError.
func (e *RuleError) Is(target error) bool { return target == ErrRule }

func rule(code, field, format string, args ...any) *RuleError {
	return &RuleError{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// FieldError is one invalid field of a command: Field is its path in the
// JSON form of the command ("exhibits[2].label"), Reason what is wrong.
type FieldError struct {
	Field  string
	Reason string
}

// ValidationError is a command whose shape is invalid whatever the state
// (HTTP 422). It lists every invalid field.
type ValidationError struct {
	Command string
	Fields  []FieldError
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Reason
	}
	return fmt.Sprintf("domain: invalid %s: %s", e.Command, strings.Join(parts, "; "))
}

// Is makes errors.Is(err, ErrValidation) true for every ValidationError.
func (e *ValidationError) Is(target error) bool { return target == ErrValidation }

func invalid(command, field, format string, args ...any) *ValidationError {
	return &ValidationError{Command: command, Fields: []FieldError{{Field: field, Reason: fmt.Sprintf(format, args...)}}}
}

func forbidden(op, format string, args ...any) error {
	return fmt.Errorf("domain: %s: %s: %w", op, fmt.Sprintf(format, args...), ErrForbidden)
}

func notFound(op, format string, args ...any) error {
	return fmt.Errorf("domain: %s: %s: %w", op, fmt.Sprintf(format, args...), ErrNotFound)
}

var (
	validateOnce sync.Once
	validate     *validator.Validate
)

// shapes returns the shared validator: field names are the JSON names.
func shapes() *validator.Validate {
	validateOnce.Do(func() {
		v := validator.New(validator.WithRequiredStructEnabled())
		v.RegisterTagNameFunc(func(f reflect.StructField) string {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				return ""
			}
			if name == "" {
				return f.Name
			}
			return name
		})
		validate = v
	})
	return validate
}

// validateShape checks cmd's validate tags and returns a *ValidationError
// naming every invalid field, or nil.
func validateShape(name string, cmd any) error {
	err := shapes().Struct(cmd)
	if err == nil {
		return nil
	}
	var verrs validator.ValidationErrors
	if !errors.As(err, &verrs) {
		return fmt.Errorf("domain: validate %s: %w", name, err)
	}
	ve := &ValidationError{Command: name}
	for _, fe := range verrs {
		ns := fe.Namespace()
		if _, rest, ok := strings.Cut(ns, "."); ok {
			ns = rest
		}
		ve.Fields = append(ve.Fields, FieldError{Field: ns, Reason: reason(fe)})
	}
	return ve
}

func reason(fe validator.FieldError) string {
	switch fe.Tag() {
	case "required":
		return "is required"
	case "required_without":
		return "is required when " + fe.Param() + " is absent"
	case "oneof":
		return "must be one of " + fe.Param()
	case "gt":
		return "must be greater than " + fe.Param()
	case "gte":
		return "must be at least " + fe.Param()
	case "lte":
		return "must be at most " + fe.Param()
	case "max":
		return "must have at most " + fe.Param() + " characters or items"
	case "min":
		return "must have at least " + fe.Param() + " characters or items"
	case "len":
		return "must have length " + fe.Param()
	case "hexadecimal":
		return "must be hexadecimal"
	case "iso3166_1_alpha2":
		return "must be an ISO 3166-1 alpha-2 country code"
	case "dive":
		return "is invalid"
	case "unique":
		return "must not repeat a value"
	case "lowercase":
		return "must be lowercase"
	}
	return "fails " + fe.Tag()
}
