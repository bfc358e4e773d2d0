package config

import (
	"errors"
	"fmt"
)

// Error classes. Every error of this package's types matches one of them
// with errors.Is, so a caller (the tmsh and Alteon dialects, the REST API)
// can tell a missing object from one in use or a bad value without reading
// its text; errors.As gives the details.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	ErrInUse    = errors.New("in use")
	ErrBuiltin  = errors.New("built in")
	ErrInvalid  = errors.New("invalid")
	ErrConflict = errors.New("conflict")
)

// Reasons a ValidationError wraps, for callers that test with errors.Is.
var (
	ErrNoSuchPool      = errors.New("no such pool")
	ErrNoSuchNode      = errors.New("no such node")
	ErrNoSuchMonitor   = errors.New("no such monitor")
	ErrNoSuchProfile   = errors.New("no such profile")
	ErrNoSuchSNATPool  = errors.New("no such snatpool")
	ErrMissing         = errors.New("missing")
	ErrNotSupportedYet = errors.New("not supported yet")
)

// Coded is an error with BIG-IP's message code ("01020036:3"). Error
// returns the code and the message, as tmsh prints it; Message the message
// alone, as iControl REST puts it in its JSON body after the code.
type Coded interface {
	error
	Code() string
	Message() string
}

// codeConfig is BIG-IP's code of a generic configuration error.
const codeConfig = "01070734:3"

func coded(e Coded) string { return e.Code() + ": " + e.Message() }

// NotFoundError says an object does not exist.
type NotFoundError struct{ Ref Ref }

func (e *NotFoundError) Error() string     { return coded(e) }
func (e *NotFoundError) Code() string      { return "01020036:3" }
func (e *NotFoundError) Is(err error) bool { return err == ErrNotFound }
func (e *NotFoundError) Message() string {
	return fmt.Sprintf("The requested %s (%s) was not found.", e.Ref.title(), e.Ref.Name)
}

// ExistsError says an object of that name exists already (in its family:
// monitors of every type share one namespace).
type ExistsError struct{ Ref Ref }

func (e *ExistsError) Error() string     { return coded(e) }
func (e *ExistsError) Code() string      { return "01020066:3" }
func (e *ExistsError) Is(err error) bool { return err == ErrExists }
func (e *ExistsError) Message() string {
	return fmt.Sprintf("The requested %s (%s) already exists in partition %s.", e.Ref.Kind.Title(), e.Ref.Name, CommonPartition)
}

// BuiltinError says a built-in object (a base monitor or persistence
// profile) cannot be changed or deleted.
type BuiltinError struct{ Ref Ref }

func (e *BuiltinError) Error() string     { return coded(e) }
func (e *BuiltinError) Code() string      { return "01070712:3" }
func (e *BuiltinError) Is(err error) bool { return err == ErrBuiltin }
func (e *BuiltinError) Message() string {
	return fmt.Sprintf("The %s (%s) is built in; it cannot be modified or deleted.", e.Ref.title(), e.Ref.Name)
}

// BootSelfError says a self IP of the boot config (selfips) cannot be
// modified or deleted by a command: it changes with the boot config.
type BootSelfError struct{ Ref Ref }

func (e *BootSelfError) Error() string     { return coded(e) }
func (e *BootSelfError) Code() string      { return codeConfig }
func (e *BootSelfError) Is(err error) bool { return err == ErrBuiltin }
func (e *BootSelfError) Message() string {
	return fmt.Sprintf("The Self IP (%s) comes from the boot config (selfips); it cannot be modified or deleted here: %v.", e.Ref.Name, errBootSelf)
}

// InUseError says an object cannot be deleted because another refers to
// it: By uses it, or (Parent) inherits from it with defaults-from.
type InUseError struct {
	Ref    Ref
	By     Ref
	Parent bool
}

func (e *InUseError) Error() string     { return coded(e) }
func (e *InUseError) Is(err error) bool { return err == ErrInUse }

// Code is BIG-IP's code for the kind's in-use message.
func (e *InUseError) Code() string {
	switch e.Ref.Kind {
	case KindNode:
		return "01070110:3"
	case KindMonitor:
		return "01070083:3"
	case KindPersistence:
		return "01070293:3"
	}
	return "01070265:3"
}

// Message words it as BIG-IP does for each kind.
func (e *InUseError) Message() string {
	switch e.Ref.Kind {
	case KindNode:
		return fmt.Sprintf("Node address '%s' is referenced by a member of pool '%s'.", e.Ref.Name, e.By.Name)
	case KindMonitor:
		by := e.By.String()
		if e.Parent {
			by += " (defaults-from)"
		}
		return fmt.Sprintf("Monitor %s is in use by %s.", e.Ref.Name, by)
	case KindPersistence:
		if e.Parent {
			return fmt.Sprintf("The persistence profile (%s) cannot be deleted because it is the parent of %s.", e.Ref.Name, e.By.Name)
		}
		return fmt.Sprintf("The persistence profile (%s) cannot be deleted because it is in use by a %s (%s).", e.Ref.Name, e.By.Kind.Title(), e.By.Name)
	}
	return fmt.Sprintf("The %s (%s) cannot be deleted because it is in use by a %s (%s).", e.Ref.Kind.Title(), e.Ref.Name, e.By.Kind.Title(), e.By.Name)
}

// ValidationError is one problem validation found, naming the object and
// the property (with its value) it is about: `ltm pool /Common/p: members
// /Common/n:80: node /Common/n: no such node`. Err says why; errors.Is
// finds the reasons above (ErrNoSuchPool, ErrMissing, …) through it.
type ValidationError struct {
	Obj      Ref    // the object the problem is in
	Object   string // Obj as printed: "ltm virtual /Common/vs"
	Property string // "pool /Common/nope"; empty when about the whole object
	Err      error
}

// Invalid returns a ValidationError about obj.
func Invalid(obj Ref, prop string, err error) *ValidationError {
	return &ValidationError{Obj: obj, Object: obj.String(), Property: prop, Err: err}
}

func (e *ValidationError) Error() string {
	if e.Property == "" {
		return e.Object + ": " + e.Err.Error()
	}
	return e.Object + ": " + e.Property + ": " + e.Err.Error()
}

func (e *ValidationError) Unwrap() error     { return e.Err }
func (e *ValidationError) Is(err error) bool { return err == ErrInvalid }
func (e *ValidationError) Code() string      { return codeConfig }

// Message is Error without the code (there is none in Error: tmsh prints
// validation errors by object).
func (e *ValidationError) Message() string { return e.Error() }

// ConflictError says a change was based on a configuration version that
// is no longer the running one: another session applied a change since.
type ConflictError struct{ Base, Current uint64 }

func (e *ConflictError) Error() string     { return e.Message() }
func (e *ConflictError) Code() string      { return codeConfig }
func (e *ConflictError) Is(err error) bool { return err == ErrConflict }
func (e *ConflictError) Message() string {
	return fmt.Sprintf("it was based on configuration version %d, but another session has since applied version %d; nothing was changed", e.Base, e.Current)
}

var (
	_ Coded = (*NotFoundError)(nil)
	_ Coded = (*ExistsError)(nil)
	_ Coded = (*BuiltinError)(nil)
	_ Coded = (*InUseError)(nil)
	_ Coded = (*BootSelfError)(nil)
	_ Coded = (*ValidationError)(nil)
	_ Coded = (*ConflictError)(nil)
)

var errRenamed = errors.New("cannot be changed by a modify (delete and create the object)")

// LineError is an error at a line of a script or file: a pushed script, a
// loaded bigip.conf, a command of a transaction.
type LineError struct {
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }
