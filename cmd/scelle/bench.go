package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scelle-ledger/scelle/api"
)

func init() {
	register("bench", "load-test a running server on this machine (custody operations, lab results, queries)", runBench)
}

type benchConfig struct {
	url      string
	data     string
	clients  int
	duration time.Duration
	maxOps   int64
	exhibits int
	// rate, if positive, paces the clients to that many operations per
	// second in all (an open loop); 0 runs each client as fast as the
	// server answers (a closed loop).
	rate float64
}

// Bench identities, created in the data directory's auth database.
const (
	benchAgency = "BENCH-CUSTOMS"
	benchLab    = "BENCH-LAB"
)

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var c benchConfig
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.StringVar(&c.url, "url", "http://127.0.0.1:8080", "base URL of the server; must be on this machine (loopback)")
	fs.StringVar(&c.data, "data", env("SCELLE_DATA", "./data"), "the server's data directory: bench creates its agencies, users and tokens there")
	fs.IntVar(&c.clients, "clients", 64, "concurrent clients")
	fs.DurationVar(&c.duration, "duration", 20*time.Second, "how long to run (at most 5m)")
	fs.Int64Var(&c.maxOps, "ops", 200000, "stop after this many operations (at most 1000000)")
	fs.Float64Var(&c.rate, "rate", 0, "operations per second in all, spread evenly over the clients; a late operation's latency counts from when it was due (0: each client as fast as it can)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "usage: scelle bench [flags]\n\n"+
			"Drives a running scelle server with concurrent clients: each client moves its own\n"+
			"exhibit between two custodians (offer + accept, 2 writes), posts a lab result on a\n"+
			"sub-sample held by the lab every 4th round, and queries the exhibit and the\n"+
			"holdings every round. Prints throughput and p50/p99 latencies per operation.\n"+
			"With --rate, the clients send at that total rate whatever the answers' speed, and\n"+
			"a latency runs from when its operation was due, so a server that falls behind\n"+
			"shows it in the percentiles.\n\nflags:\n")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	if c.clients < 1 || c.clients > 1024 || c.duration <= 0 || c.duration > 5*time.Minute || c.maxOps < 1 || c.maxOps > 1_000_000 || c.rate < 0 || c.rate > 1_000_000 {
		fmt.Fprintln(stderr, "scelle bench: --clients 1..1024, --duration up to 5m, --ops 1..1000000, --rate 0..1000000")
		return 2
	}
	if err := loopbackOnly(c.url); err != nil {
		fmt.Fprintf(stderr, "scelle bench: %v\n", err)
		return 2
	}
	if path := os.Getenv("SCELLE_BENCH_CPUPROFILE"); path != "" {
		// The load generator's own CPU profile: it shares the machine with
		// the server, so its cost is part of the figures.
		f, err := os.Create(path)
		if err != nil {
			fmt.Fprintf(stderr, "scelle bench: %v\n", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "scelle bench: %v\n", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	if err := bench(ctx, c, stdout); err != nil {
		fmt.Fprintf(stderr, "scelle bench: %v\n", err)
		return 1
	}
	return 0
}

// loopbackOnly refuses to load-test anything but this machine.
func loopbackOnly(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("--url %q: want http://127.0.0.1:PORT", raw)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("--url %q: bench only targets a loopback address", raw)
	}
	return nil
}

type benchClient struct {
	base   string
	http   *http.Client
	tok    map[string]string
	auth   map[string]string // user -> Authorization header value
	prefix string            // of Idempotency-Keys: unique per run
	seq    atomic.Int64
	bufs   sync.Pool
}

type benchError struct {
	status int
	body   string
}

func (e *benchError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.status, e.body) }

func (b *benchClient) do(ctx context.Context, user, method, path string, body any, out any) error {
	var raw []byte
	if body != nil {
		j, err := json.Marshal(body)
		if err != nil {
			return err
		}
		raw = j
	}
	return b.doRaw(ctx, user, method, path, raw, out)
}

// doRaw sends a request whose body is already JSON (nil: none) and decodes
// the response into out (nil: read and dropped). The measured loop uses it
// with bodies built by hand: the load generator shares the server's two
// cores, so its own CPU counts against the figures.
func (b *benchClient) doRaw(ctx context.Context, user, method, path string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, b.base+path, rd)
	if err != nil {
		return err
	}
	req.Header["Authorization"] = []string{b.auth[user]}
	if body != nil {
		req.Header["Content-Type"] = []string{"application/json"}
		req.Header["Idempotency-Key"] = []string{b.prefix + strconv.FormatInt(b.seq.Add(1), 10)}
	}
	res, err := b.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode >= 300 {
		data, _ := io.ReadAll(res.Body)
		return &benchError{status: res.StatusCode, body: string(data)}
	}
	if out == nil {
		bp := b.bufs.Get().(*[]byte)
		defer b.bufs.Put(bp)
		for {
			if _, err := res.Body.Read(*bp); err != nil {
				if errors.Is(err, io.EOF) {
					return nil
				}
				return err
			}
		}
	}
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, out)
}

func (b *benchClient) cmd(ctx context.Context, user, name string, body any) (api.CommandResult, error) {
	var res api.CommandResult
	err := b.do(ctx, user, http.MethodPost, "/v1/commands/"+name, body, &res)
	return res, err
}

func payloadField(res api.CommandResult, typ, field string) string {
	for _, ev := range res.Events {
		if ev.Type == typ {
			var m map[string]any
			if json.Unmarshal(ev.Payload, &m) == nil {
				if s, ok := m[field].(string); ok {
					return s
				}
			}
		}
	}
	return ""
}

// offered is the part of an offer-transfer result the loop needs.
type offered struct {
	Events []struct {
		Type    string `json:"type"`
		Payload struct {
			TransferID string `json:"transfer_id"`
		} `json:"payload"`
	} `json:"events"`
}

func (o *offered) transferID() string {
	for _, ev := range o.Events {
		if ev.Type == "TransferOffered" {
			return ev.Payload.TransferID
		}
	}
	return ""
}

// jsonString quotes s as a JSON string.
func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// setupIdentities creates the bench agencies, users and tokens.
func setupIdentities(ctx context.Context, data string) (map[string]string, error) {
	auth, err := api.OpenAuthStore(ctx, filepath.Join(data, authFile))
	if err != nil {
		return nil, err
	}
	defer auth.Close()
	now := time.Now()
	for _, a := range []api.Agency{
		{Code: benchAgency, Name: "bench customs", Country: "MA", Kind: "customs"},
		{Code: benchLab, Name: "bench lab", Country: "MA", Kind: "lab"},
	} {
		if err := auth.AddAgency(ctx, a, now); err != nil && !errors.Is(err, api.ErrExists) {
			return nil, err
		}
	}
	users := []api.User{
		{ID: "bench-officer", Agency: benchAgency, Roles: []string{api.RoleOfficer, api.RoleMagistrate}},
		{ID: "bench-k1", Agency: benchAgency, Roles: []string{api.RoleCustodian}},
		{ID: "bench-k2", Agency: benchAgency, Roles: []string{api.RoleCustodian}},
		{ID: "bench-analyst", Agency: benchLab, Roles: []string{api.RoleAnalyst}},
	}
	tok := map[string]string{}
	for _, u := range users {
		if err := auth.AddUser(ctx, u, now); err != nil && !errors.Is(err, api.ErrExists) {
			return nil, err
		}
		_, secret, err := auth.IssueToken(ctx, u.ID, "bench", time.Hour, now)
		if err != nil {
			return nil, err
		}
		tok[u.ID] = secret
	}
	return tok, nil
}

// lane is one client's material: an exhibit moving between the two
// custodians and a sub-sample held by the lab.
type lane struct {
	exhibit, holder, seal string
	sample                string
	minPos                uint64
}

func bench(ctx context.Context, c benchConfig, w io.Writer) error {
	tok, err := setupIdentities(ctx, c.data)
	if err != nil {
		return fmt.Errorf("set up identities: %w", err)
	}
	b := &benchClient{base: strings.TrimSuffix(c.url, "/"), tok: tok, auth: map[string]string{},
		prefix: "bench-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "-",
		bufs:   sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }},
		http: &http.Client{
			Timeout:   30 * time.Second,
			Transport: &http.Transport{MaxIdleConns: c.clients * 2, MaxIdleConnsPerHost: c.clients * 2, IdleConnTimeout: time.Minute},
		}}
	for u, t := range tok {
		b.auth[u] = "Bearer " + t
	}
	fmt.Fprintf(w, "setting up %d lanes (case, seizure, transfers to the lab)...\n", c.clients)
	lanes, err := setupLanes(ctx, b, c.clients)
	if err != nil {
		return fmt.Errorf("set up: %w", err)
	}
	fmt.Fprintf(w, "running %d clients for up to %s or %d operations\n", c.clients, c.duration, c.maxOps)
	rctx, cancel := context.WithTimeout(ctx, c.duration)
	defer cancel()
	var (
		mu      sync.Mutex
		lat     = map[string][]time.Duration{}
		errs    = map[string]int{}
		total   atomic.Int64
		wg      sync.WaitGroup
		example string
	)
	record := func(op string, d time.Duration, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			if rctx.Err() != nil {
				return
			}
			errs[op]++
			if example == "" {
				example = op + ": " + err.Error()
			}
			return
		}
		lat[op] = append(lat[op], d)
	}
	// interval is each client's time between two operations when paced.
	var interval time.Duration
	if c.rate > 0 {
		interval = time.Duration(float64(c.clients) / c.rate * float64(time.Second))
	}
	timed := func(due *time.Time, op string, f func() error) bool {
		if total.Add(1) > c.maxOps {
			return false
		}
		start := time.Now()
		if interval > 0 {
			if wait := time.Until(*due); wait > 0 {
				select {
				case <-time.After(wait):
				case <-rctx.Done():
					return false
				}
			}
			start = *due // an operation sent late was waiting for the client
			*due = due.Add(interval)
		}
		err := f()
		record(op, time.Since(start), err)
		return rctx.Err() == nil
	}
	conns := make([]laneConn, len(lanes))
	for i := range conns {
		if conns[i], err = newLane(b); err != nil {
			return err
		}
	}
	start := time.Now()
	for i := range lanes {
		wg.Add(1)
		go func(n int, l *lane, lc laneConn) {
			defer wg.Done()
			defer lc.close()
			report, _ := json.Marshal(map[string]any{"exhibit_id": l.sample, "report": map[string]any{
				"lab_case_number": "BENCH-LAB-1", "net_mg": 20000, "net_uncertainty_mg": 20,
				"substances": []map[string]any{{"name": "cannabis resin (THC)", "purity_bp": 2750, "uncertainty_bp": 180}},
				"techniques": []string{"GC-MS"}, "reviewer": "bench-reviewer", "report_digest": strings.Repeat("cd", 32)}})
			exhibitPath := "/v1/exhibits/" + l.exhibit
			// Paced clients start spread over one interval.
			due := start.Add(time.Duration(n) * interval / time.Duration(c.clients))
			timed := func(op string, f func() error) bool { return timed(&due, op, f) }
			for round := 0; rctx.Err() == nil; round++ {
				next := "bench-k2"
				if l.holder == "bench-k2" {
					next = "bench-k1"
				}
				var tid string
				if !timed("offer-transfer", func() error {
					var res offered
					err := lc.send(rctx, l.holder, http.MethodPost, "/v1/commands/offer-transfer",
						[]byte(`{"exhibit_id":"`+l.exhibit+`","to":{"agency":"`+benchAgency+`","person":"`+next+`"},"purpose":"custody"}`), &res)
					tid = res.transferID()
					return err
				}) || tid == "" {
					break
				}
				if !timed("accept-transfer", func() error {
					return lc.send(rctx, next, http.MethodPost, "/v1/commands/accept-transfer",
						[]byte(`{"exhibit_id":"`+l.exhibit+`","transfer_id":`+jsonString(tid)+`,"seal":{"number":`+jsonString(l.seal)+`,"condition":"intact"}}`), nil)
				}) {
					break
				}
				l.holder = next
				if round%4 == 0 && !timed("report-analysis", func() error {
					return lc.send(rctx, "bench-analyst", http.MethodPost, "/v1/commands/report-analysis", report, nil)
				}) {
					break
				}
				if !timed("get-exhibit", func() error {
					return lc.send(rctx, l.holder, http.MethodGet, exhibitPath, nil, nil)
				}) {
					break
				}
				if !timed("list-holdings", func() error {
					return lc.send(rctx, l.holder, http.MethodGet, "/v1/holdings?limit=20", nil, nil)
				}) {
					break
				}
			}
		}(i, &lanes[i], conns[i])
	}
	wg.Wait()
	elapsed := time.Since(start)
	report(w, c, elapsed, lat, errs, example)
	return nil
}

func setupLanes(ctx context.Context, b *benchClient, n int) ([]lane, error) {
	res, err := b.cmd(ctx, "bench-officer", "open-case", map[string]any{"reference": fmt.Sprintf("BENCH-%d", time.Now().Unix()), "country": "MA", "legal_framework": "customs"})
	if err != nil {
		return nil, fmt.Errorf("open case: %w", err)
	}
	caseID := res.Created[0].ID.String()
	if _, err := b.cmd(ctx, "bench-officer", "share-case", map[string]any{"case_id": caseID, "agency": benchLab, "country": "MA", "legal_basis": "bench"}); err != nil {
		return nil, fmt.Errorf("share case: %w", err)
	}
	now := time.Now().UTC()
	var specs []map[string]any
	for i := range n {
		specs = append(specs, map[string]any{"label": fmt.Sprintf("%d of %d", i+1, n), "category": "bale", "unit_count": 1,
			"seal_number": fmt.Sprintf("BENCH-S-%04d", i),
			"weighing":    map[string]any{"gross_mg": 31000000, "net_mg": 30500000, "tare_mg": 500000, "uncertainty_mg": 5000, "scale_id": "SC", "calibration_ref": "CAL"}})
	}
	res, err = b.cmd(ctx, "bench-officer", "record-seizure", map[string]any{"case_id": caseID, "record_number": "PV-BENCH",
		"seized_at": now.Add(-time.Hour), "closed_at": now, "place": map[string]any{"name": "bench", "country": "MA"},
		"cause": "bench", "detection_method": "bench", "officers": []string{"bench-officer"}, "holder_present": true,
		"custodian": map[string]any{"agency": benchAgency}, "exhibits": specs})
	if err != nil {
		return nil, fmt.Errorf("record seizure: %w", err)
	}
	var lanes []lane
	for _, cr := range res.Created {
		if cr.Kind == "exhibit" {
			lanes = append(lanes, lane{exhibit: cr.ID.String(), holder: "bench-officer", minPos: res.Position})
		}
	}
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for i := range lanes {
		wg.Add(1)
		sem <- struct{}{}
		go func(l *lane) {
			defer wg.Done()
			defer func() { <-sem }()
			if err := setupLane(ctx, b, l); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}(&lanes[i])
	}
	wg.Wait()
	return lanes, firstErr
}

func setupLane(ctx context.Context, b *benchClient, l *lane) error {
	// Find the exhibit's seal from its custody view.
	var x struct {
		Seal string `json:"seal"`
	}
	if err := b.do(ctx, "bench-officer", http.MethodGet, "/v1/exhibits/"+l.exhibit+"?min_position="+strconv.FormatUint(l.minPos, 10), nil, &x); err != nil {
		return fmt.Errorf("read exhibit: %w", err)
	}
	l.seal = x.Seal
	move := func(from, to string, party map[string]any) error {
		res, err := b.cmd(ctx, from, "offer-transfer", map[string]any{"exhibit_id": l.exhibit, "to": party, "purpose": "custody"})
		if err != nil {
			return fmt.Errorf("offer: %w", err)
		}
		_, err = b.cmd(ctx, to, "accept-transfer", map[string]any{"exhibit_id": l.exhibit, "transfer_id": payloadField(res, "TransferOffered", "transfer_id"),
			"seal": map[string]any{"number": l.seal, "condition": "intact"}})
		return err
	}
	if err := move("bench-officer", "bench-k1", map[string]any{"agency": benchAgency, "person": "bench-k1"}); err != nil {
		return err
	}
	l.holder = "bench-k1"
	if _, err := b.cmd(ctx, "bench-k1", "open-seal", map[string]any{"exhibit_id": l.exhibit, "purpose": "sampling", "authority_ref": "BENCH"}); err != nil {
		return fmt.Errorf("open seal: %w", err)
	}
	res, err := b.cmd(ctx, "bench-k1", "take-sub-sample", map[string]any{"exhibit_id": l.exhibit, "label": "S1", "purpose": "analysis",
		"seal_number": l.seal + "-S1", "weighing": map[string]any{"gross_mg": 20500, "net_mg": 20000, "tare_mg": 500, "uncertainty_mg": 20, "scale_id": "SC", "calibration_ref": "CAL"}})
	if err != nil {
		return fmt.Errorf("sub-sample: %w", err)
	}
	l.sample = payloadField(res, "SubSampleTaken", "sub_sample_id")
	l.seal += "-R"
	if _, err := b.cmd(ctx, "bench-k1", "reseal-exhibit", map[string]any{"exhibit_id": l.exhibit, "seal_number": l.seal}); err != nil {
		return fmt.Errorf("reseal: %w", err)
	}
	res, err = b.cmd(ctx, "bench-k1", "offer-transfer", map[string]any{"exhibit_id": l.sample, "to": map[string]any{"agency": benchLab, "person": "bench-analyst"}, "purpose": "analysis"})
	if err != nil {
		return fmt.Errorf("offer sample: %w", err)
	}
	sealS := strings.TrimSuffix(l.seal, "-R") + "-S1"
	if _, err := b.cmd(ctx, "bench-analyst", "accept-transfer", map[string]any{"exhibit_id": l.sample, "transfer_id": payloadField(res, "TransferOffered", "transfer_id"),
		"seal": map[string]any{"number": sealS, "condition": "intact"}}); err != nil {
		return fmt.Errorf("accept sample: %w", err)
	}
	if _, err := b.cmd(ctx, "bench-analyst", "record-lab-receipt", map[string]any{"exhibit_id": l.sample, "lab_case_number": "BENCH-LAB-1",
		"seal": map[string]any{"number": sealS, "condition": "intact"}, "packaging_condition": "good"}); err != nil {
		return fmt.Errorf("lab receipt: %w", err)
	}
	return nil
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	i := int(float64(len(ds)-1) * p)
	return ds[i]
}

func report(w io.Writer, c benchConfig, elapsed time.Duration, lat map[string][]time.Duration, errs map[string]int, example string) {
	var all []time.Duration
	ops := make([]string, 0, len(lat))
	for op, ds := range lat {
		slices.Sort(ds)
		all = append(all, ds...)
		ops = append(ops, op)
	}
	sort.Strings(ops)
	slices.Sort(all)
	writes := len(lat["offer-transfer"]) + len(lat["accept-transfer"]) + len(lat["report-analysis"])
	fmt.Fprintf(w, "\n%d clients, %.1fs, %d operations (%d writes, each fsynced), %d errors\n", c.clients, elapsed.Seconds(), len(all), writes, sumErrs(errs))
	if c.rate > 0 {
		fmt.Fprintf(w, "paced: %.0f ops/s asked for in all; latencies count from when each operation was due\n", c.rate)
	}
	fmt.Fprintf(w, "throughput: %.0f ops/s (writes %.0f/s, custody offer+accept %.0f/s)\n",
		float64(len(all))/elapsed.Seconds(), float64(writes)/elapsed.Seconds(),
		float64(len(lat["offer-transfer"])+len(lat["accept-transfer"]))/elapsed.Seconds())
	fmt.Fprintf(w, "latency all: p50 %s  p99 %s  max %s\n\n", ms(percentile(all, .5)), ms(percentile(all, .99)), ms(percentile(all, 1)))
	fmt.Fprintf(w, "%-16s %8s %8s %9s %9s %7s\n", "operation", "count", "ops/s", "p50", "p99", "errors")
	for _, op := range ops {
		ds := lat[op]
		fmt.Fprintf(w, "%-16s %8d %8.0f %9s %9s %7d\n", op, len(ds), float64(len(ds))/elapsed.Seconds(), ms(percentile(ds, .5)), ms(percentile(ds, .99)), errs[op])
	}
	if example != "" {
		fmt.Fprintf(w, "\nfirst error: %.300s\n", example)
	}
}

func sumErrs(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }
