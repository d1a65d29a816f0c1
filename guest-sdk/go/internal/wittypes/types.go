// Package wittypes provides the option, result and unit types that wit-bindgen's Go
// bindings use for the WIT types of the same names. It replaces the package
// go.bytecodealliance.org/pkg/wit/types, which the Go module proxy does not serve, with
// the functions and constants that the generated code calls.
package wittypes

// Option tags, as Option.Tag returns them.
const (
	OptionNone = 0
	OptionSome = 1
)

// Option is a WIT option<T>: either no value or one value of type T.
type Option[T any] struct {
	isSome bool
	value  T
}

// Some returns an option that contains value.
func Some[T any](value T) Option[T] {
	return Option[T]{isSome: true, value: value}
}

// None returns an option without a value.
func None[T any]() Option[T] {
	return Option[T]{}
}

// Tag returns OptionSome or OptionNone.
func (o Option[T]) Tag() uint8 {
	if o.isSome {
		return OptionSome
	}
	return OptionNone
}

// IsSome reports whether the option contains a value.
func (o Option[T]) IsSome() bool {
	return o.isSome
}

// IsNone reports whether the option is empty.
func (o Option[T]) IsNone() bool {
	return !o.isSome
}

// Some returns the value, and panics when the option is empty.
func (o Option[T]) Some() T {
	if !o.isSome {
		panic("wittypes: Some called on an empty option")
	}
	return o.value
}

// SomeOr returns the value, or fallback when the option is empty.
func (o Option[T]) SomeOr(fallback T) T {
	if !o.isSome {
		return fallback
	}
	return o.value
}

// Result tags, as Result.Tag returns them.
const (
	ResultOk  = 0
	ResultErr = 1
)

// Result is a WIT result<T, E>: either a success value of type T or an error of type E.
type Result[T any, E any] struct {
	isErr bool
	ok    T
	err   E
}

// Ok returns a successful result.
func Ok[T any, E any](value T) Result[T, E] {
	return Result[T, E]{ok: value}
}

// Err returns a failed result.
func Err[T any, E any](err E) Result[T, E] {
	return Result[T, E]{isErr: true, err: err}
}

// Tag returns ResultOk or ResultErr.
func (r Result[T, E]) Tag() uint8 {
	if r.isErr {
		return ResultErr
	}
	return ResultOk
}

// IsOk reports whether the result is a success.
func (r Result[T, E]) IsOk() bool {
	return !r.isErr
}

// IsErr reports whether the result is an error.
func (r Result[T, E]) IsErr() bool {
	return r.isErr
}

// Ok returns the success value, and panics when the result is an error.
func (r Result[T, E]) Ok() T {
	if r.isErr {
		panic("wittypes: Ok called on an error result")
	}
	return r.ok
}

// Err returns the error, and panics when the result is a success.
func (r Result[T, E]) Err() E {
	if !r.isErr {
		panic("wittypes: Err called on a successful result")
	}
	return r.err
}

// Unit is the WIT type `_`, the empty success value of result<_, E>.
type Unit struct{}
