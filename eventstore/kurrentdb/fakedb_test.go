package kurrentdb

import (
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	api "github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	grpcmd "google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// fakeDB is an in-memory stand-in for the part of KurrentDB's gRPC Streams
// service that the adapter uses, served over a real gRPC socket to the real
// v4 client. It exists because no container engine runs here; the
// container test (kurrentdb_test.go) runs the same suite against the real
// server wherever Docker is available.
//
// It follows KurrentDB's documented behaviour, and is strict where the real
// server's behaviour is undefined: an $all position that no event has is an
// error. Positions are sparse byte-offset-like numbers; the log starts with
// system events, which the adapter must skip.
type fakeDB struct {
	api.UnimplementedStreamsServer

	mu      sync.Mutex
	log     []fakeEvent
	streams map[string][]int // stream -> indices in log
	byPos   map[uint64]int   // position -> index in log
	next    uint64           // position of the next event
	wake    chan struct{}    // closed and replaced on every append

	// failNext, if set, is returned (once) by the next call of the named
	// method, to test error mapping.
	failNext map[string]error
	// beforeAppend, if set, runs (once) when an append arrives, before it is
	// decided: another process's write slipping in between.
	beforeAppend func()
}

type fakeEvent struct {
	id              uuid.UUID
	stream, typ, ct string
	rev, pos        uint64
	data, meta      []byte
	created         int64
}

// startFakeDB serves a fakeDB on a local port and returns it and its
// esdb:// URL.
func startFakeDB(t *testing.T) (*fakeDB, string) {
	t.Helper()
	db := &fakeDB{streams: map[string][]int{}, byPos: map[uint64]int{}, next: 1024, wake: make(chan struct{}), failNext: map[string]error{}}
	// A fresh KurrentDB already has system events in $all.
	db.add("$settings", "$settings", []byte(`{}`), nil)
	db.add("$$$scavenges", "$metadata", []byte(`{"$maxAge":2592000}`), nil)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	srv := grpc.NewServer()
	api.RegisterStreamsServer(srv, db)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	return db, "esdb://" + lis.Addr().String() + "?tls=false"
}

// add appends one event; the caller holds mu or owns db.
func (db *fakeDB) add(stream, typ string, data, meta []byte) fakeEvent {
	return db.addID(uuid.New(), stream, typ, "application/json", data, meta)
}

func (db *fakeDB) addID(id uuid.UUID, stream, typ, ct string, data, meta []byte) fakeEvent {
	e := fakeEvent{id: id, stream: stream, typ: typ, ct: ct, rev: uint64(len(db.streams[stream])),
		pos: db.next, data: data, meta: meta, created: time.Now().UnixNano() / 100}
	db.streams[stream] = append(db.streams[stream], len(db.log))
	db.byPos[e.pos] = len(db.log)
	db.log = append(db.log, e)
	db.next += 128 + uint64(len(data)+len(meta)) // a record's length, roughly
	return e
}

func (db *fakeDB) injected(method string) error {
	db.mu.Lock()
	defer db.mu.Unlock()
	err := db.failNext[method]
	delete(db.failNext, method)
	return err
}

func protoUUID(id uuid.UUID) *shared.UUID {
	most, least := esdb.UUIDAsInt64(id)
	return &shared.UUID{Value: &shared.UUID_Structured_{Structured: &shared.UUID_Structured{MostSignificantBits: most, LeastSignificantBits: least}}}
}

func fromProtoUUID(u *shared.UUID) (uuid.UUID, error) {
	if s := u.GetStructured(); s != nil {
		return esdb.ParseUUIDFromInt64(s.MostSignificantBits, s.LeastSignificantBits)
	}
	return uuid.Parse(u.GetString_())
}

func (db *fakeDB) Append(srv api.Streams_AppendServer) error {
	if err := db.injected("append"); err != nil {
		// Fail as a server does: after the request has arrived. Failing
		// before reading it races the client's sends, which then report
		// a bare EOF instead of the status.
		for {
			if _, rerr := srv.Recv(); rerr != nil {
				break
			}
		}
		return err
	}
	db.mu.Lock()
	hook := db.beforeAppend
	db.beforeAppend = nil
	db.mu.Unlock()
	if hook != nil {
		hook()
	}
	req, err := srv.Recv()
	if err != nil {
		return err
	}
	opts := req.GetOptions()
	if opts == nil {
		return status.Error(codes.InvalidArgument, "append: options first")
	}
	stream := string(opts.GetStreamIdentifier().GetStreamName())
	type proposed struct {
		id         uuid.UUID
		typ, ct    string
		data, meta []byte
	}
	var evs []proposed
	for {
		req, err := srv.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		m := req.GetProposedMessage()
		id, err := fromProtoUUID(m.GetId())
		if err != nil {
			return status.Error(codes.InvalidArgument, "append: bad event id")
		}
		typ, ok := m.GetMetadata()["type"]
		if !ok {
			return status.Error(codes.InvalidArgument, "append: no type")
		}
		evs = append(evs, proposed{id, typ, m.GetMetadata()["content-type"], m.GetData(), m.GetCustomMetadata()})
	}

	db.mu.Lock()
	defer db.mu.Unlock()
	idx := db.streams[stream]
	exists := len(idx) > 0
	last := uint64(len(idx)) - 1
	// KurrentDB's idempotency for an exact expectation: the same IDs right
	// after the expected revision are a retry.
	after := -1
	ok := false
	switch o := opts.GetExpectedStreamRevision().(type) {
	case *api.AppendReq_Options_Any:
		ok = true
	case *api.AppendReq_Options_NoStream:
		ok, after = !exists, 0
	case *api.AppendReq_Options_StreamExists:
		ok = exists
	case *api.AppendReq_Options_Revision:
		ok, after = exists && last == o.Revision, int(o.Revision)+1
	}
	if !ok && after >= 0 && after+len(evs) <= len(idx) {
		same := true
		for i := range evs {
			same = same && db.log[idx[after+i]].id == evs[i].id
		}
		if same {
			e := db.log[idx[after+len(evs)-1]]
			return srv.SendAndClose(&api.AppendResp{Result: &api.AppendResp_Success_{Success: &api.AppendResp_Success{
				CurrentRevisionOption: &api.AppendResp_Success_CurrentRevision{CurrentRevision: e.rev},
				PositionOption:        &api.AppendResp_Success_NoPosition{NoPosition: &shared.Empty{}},
			}}})
		}
	}
	if !ok {
		wrong := &api.AppendResp_WrongExpectedVersion{}
		if exists {
			wrong.CurrentRevisionOption = &api.AppendResp_WrongExpectedVersion_CurrentRevision{CurrentRevision: last}
		} else {
			wrong.CurrentRevisionOption = &api.AppendResp_WrongExpectedVersion_CurrentNoStream{CurrentNoStream: &shared.Empty{}}
		}
		return srv.SendAndClose(&api.AppendResp{Result: &api.AppendResp_WrongExpectedVersion_{WrongExpectedVersion: wrong}})
	}
	var first, lastEv fakeEvent
	for i, p := range evs {
		lastEv = db.addID(p.id, stream, p.typ, p.ct, p.data, p.meta)
		if i == 0 {
			first = lastEv
		}
	}
	close(db.wake)
	db.wake = make(chan struct{})
	// The append's position is the first event's: the adapter must not take
	// it for the last event's.
	return srv.SendAndClose(&api.AppendResp{Result: &api.AppendResp_Success_{Success: &api.AppendResp_Success{
		CurrentRevisionOption: &api.AppendResp_Success_CurrentRevision{CurrentRevision: lastEv.rev},
		PositionOption:        &api.AppendResp_Success_Position{Position: &api.AppendResp_Position{CommitPosition: first.pos, PreparePosition: first.pos}},
	}}})
}

func (e *fakeEvent) resp() *api.ReadResp {
	return &api.ReadResp{Content: &api.ReadResp_Event{Event: &api.ReadResp_ReadEvent{
		Event: &api.ReadResp_ReadEvent_RecordedEvent{
			Id:               protoUUID(e.id),
			StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(e.stream)},
			StreamRevision:   e.rev,
			CommitPosition:   e.pos,
			PreparePosition:  e.pos,
			Metadata:         map[string]string{"type": e.typ, "content-type": e.ct, "created": strconv.FormatInt(e.created, 10)},
			CustomMetadata:   e.meta,
			Data:             e.data,
		},
		Position: &api.ReadResp_ReadEvent_CommitPosition{CommitPosition: e.pos},
	}}}
}

// posIndex returns the index in the log of the event at position p.
func (db *fakeDB) posIndex(p uint64) (int, bool) {
	i, ok := db.byPos[p]
	return i, ok
}

func (db *fakeDB) Read(req *api.ReadReq, srv api.Streams_ReadServer) error {
	if err := db.injected("read"); err != nil {
		if trailer, ok := err.(fakeTrailerError); ok {
			srv.SetTrailer(grpcmd.Pairs(trailer.kv...))
			return status.Error(codes.Unknown, "injected")
		}
		return err
	}
	o := req.GetOptions()
	if o.GetSubscription() != nil {
		return db.subscribe(o, srv)
	}
	count := o.GetCount()
	backwards := o.GetReadDirection() == api.ReadReq_Options_Backwards
	var out []fakeEvent
	db.mu.Lock()
	if s := o.GetStream(); s != nil {
		stream := string(s.GetStreamIdentifier().GetStreamName())
		idx := db.streams[stream]
		if len(idx) == 0 {
			db.mu.Unlock()
			return srv.Send(&api.ReadResp{Content: &api.ReadResp_StreamNotFound_{StreamNotFound: &api.ReadResp_StreamNotFound{StreamIdentifier: s.GetStreamIdentifier()}}})
		}
		last := uint64(len(idx) - 1)
		from := uint64(0)
		switch r := s.GetRevisionOption().(type) {
		case *api.ReadReq_Options_StreamOptions_Revision:
			from = r.Revision
		case *api.ReadReq_Options_StreamOptions_End:
			from = last + 1
			if backwards {
				from = last
			}
		}
		if !backwards {
			for r := from; r <= last && uint64(len(out)) < count; r++ {
				out = append(out, db.log[idx[r]])
			}
		} else {
			for r := int64(min(from, last)); r >= 0 && uint64(len(out)) < count; r-- {
				out = append(out, db.log[idx[r]])
			}
		}
	} else {
		all := o.GetAll()
		start, end := 0, len(db.log) // forwards: [start, len); backwards: [0, end) descending
		switch p := all.GetAllOption().(type) {
		case *api.ReadReq_Options_AllOptions_Position:
			i, ok := db.posIndex(p.Position.CommitPosition)
			if !ok || p.Position.PreparePosition != p.Position.CommitPosition {
				db.mu.Unlock()
				return status.Errorf(codes.InvalidArgument, "fake: no event at position %d/%d", p.Position.CommitPosition, p.Position.PreparePosition)
			}
			start, end = i, i // backwards reads are strictly before the position
		case *api.ReadReq_Options_AllOptions_End:
			start = len(db.log)
		}
		if !backwards {
			for i := start; i < len(db.log) && uint64(len(out)) < count; i++ {
				out = append(out, db.log[i])
			}
		} else {
			for i := end - 1; i >= 0 && uint64(len(out)) < count; i-- {
				out = append(out, db.log[i])
			}
		}
	}
	db.mu.Unlock()
	for i := range out {
		if err := srv.Send(out[i].resp()); err != nil {
			return err
		}
	}
	return nil
}

// fakeTrailerError makes Read fail with the given trailers, as the server
// reports some errors (stream-deleted, not-leader).
type fakeTrailerError struct{ kv []string }

func (fakeTrailerError) Error() string { return "trailer error" }

// subscribe serves a catch-up subscription to $all: confirmation, history
// after the start (exclusive), then live events, with checkpoints between.
func (db *fakeDB) subscribe(o *api.ReadReq_Options, srv api.Streams_ReadServer) error {
	all := o.GetAll()
	if all == nil {
		return status.Error(codes.Unimplemented, "fake: stream subscriptions")
	}
	match := func(e *fakeEvent) bool { return true }
	if f := o.GetFilter(); f != nil {
		expr, onType := f.GetStreamIdentifier(), false
		if expr == nil {
			expr, onType = f.GetEventType(), true
		}
		var re *regexp.Regexp
		if expr.GetRegex() != "" {
			re = regexp.MustCompile(expr.GetRegex())
		}
		match = func(e *fakeEvent) bool {
			v := e.stream
			if onType {
				v = e.typ
			}
			if re != nil {
				return re.MatchString(v)
			}
			for _, p := range expr.GetPrefix() {
				if strings.HasPrefix(v, p) {
					return true
				}
			}
			return false
		}
	}
	db.mu.Lock()
	next := 0
	switch p := all.GetAllOption().(type) {
	case *api.ReadReq_Options_AllOptions_Position:
		i, ok := db.posIndex(p.Position.CommitPosition)
		if !ok {
			db.mu.Unlock()
			return status.Errorf(codes.InvalidArgument, "fake: no event at position %d", p.Position.CommitPosition)
		}
		next = i + 1
	case *api.ReadReq_Options_AllOptions_End:
		next = len(db.log)
	}
	db.mu.Unlock()
	if err := srv.Send(&api.ReadResp{Content: &api.ReadResp_Confirmation{Confirmation: &api.ReadResp_SubscriptionConfirmation{SubscriptionId: uuid.NewString()}}}); err != nil {
		return err
	}
	for {
		db.mu.Lock()
		batch := append([]fakeEvent(nil), db.log[next:]...)
		wake := db.wake
		db.mu.Unlock()
		for i := range batch {
			if match(&batch[i]) {
				if err := srv.Send(batch[i].resp()); err != nil {
					return err
				}
			}
		}
		if len(batch) > 0 {
			next += len(batch)
			last := batch[len(batch)-1].pos
			if err := srv.Send(&api.ReadResp{Content: &api.ReadResp_Checkpoint_{Checkpoint: &api.ReadResp_Checkpoint{CommitPosition: last, PreparePosition: last}}}); err != nil {
				return err
			}
			continue
		}
		select {
		case <-wake:
		case <-srv.Context().Done():
			return srv.Context().Err()
		}
	}
}

// String describes the fake's log, for failure messages.
func (db *fakeDB) String() string {
	db.mu.Lock()
	defer db.mu.Unlock()
	var b strings.Builder
	for _, e := range db.log {
		fmt.Fprintf(&b, "%d %s@%d %s\n", e.pos, e.stream, e.rev, e.typ)
	}
	return b.String()
}
