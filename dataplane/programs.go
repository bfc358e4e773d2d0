package dataplane

import (
	"lbx/dataplane/flowtable"
	"lbx/dataplane/program"
)

// The Program and what it holds are package program's; these names keep
// dataplane's API.
type (
	Program           = program.Program
	Virtual           = program.Virtual
	SelfIP            = program.SelfIP
	Route             = program.Route
	ServiceDownAction = program.ServiceDownAction
)

// IP protocols a virtual matches, and the service-down actions.
const (
	ProtoTCP            = program.ProtoTCP
	ProtoUDP            = program.ProtoUDP
	ProtoAny            = program.ProtoAny
	ServiceDownNone     = program.ServiceDownNone
	ServiceDownReset    = program.ServiceDownReset
	ServiceDownDrop     = program.ServiceDownDrop
	ServiceDownReselect = program.ServiceDownReselect
)

// VirtualStats are a virtual server's live counters, kept apart from config
// by the engine (Engine.VirtualStats), keyed by the virtual's name so an
// apply does not reset them. The flow table keeps their connection counts.
type VirtualStats = flowtable.VirtualStats
