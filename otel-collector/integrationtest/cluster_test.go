package integrationtest

// The Elasticsearch cluster drill (issue 15, docs/scaling.md): a 3-node
// cluster started by elastic/es.sh (ES_NODES=3) on its own ports and in its
// own STACK_DIR, so it runs beside a stack on the default ports; the real
// Collector lists every node; a steady stream of log records with unique seqs;
// one node SIGKILLed under load and started again 30 s later. Nothing the
// Collector acknowledged may be lost or indexed twice, and the cluster must go
// green again. Prints FIGURE lines.
//
//	ES_CLUSTER_DRILL=only go test -count=1 -v -run TestElasticsearchClusterNodeKill ./
//
// ES_CLUSTER_DRILL=only runs it alone (no shared Elasticsearch needed);
// ES_CLUSTER_DRILL=full too, and also kills the elected master (about 100 s
// more: kept out of otel-collector/test.sh's budget). ES_CLUSTER_PORT moves
// the cluster (default 19200: HTTP 19200-19202, transport 19300-19302).

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const clusterNodes = 3

type esCluster struct {
	esServer // node 1; requests that must survive a dead node go through any()
	t        *testing.T
	stack    string
	port     int
	env      []string
}

func (c *esCluster) nodeURL(i int) string { return fmt.Sprintf("http://127.0.0.1:%d", c.port+i-1) }

func (c *esCluster) endpoints() string {
	urls := make([]string, 0, clusterNodes)
	for i := 1; i <= clusterNodes; i++ {
		urls = append(urls, c.nodeURL(i))
	}
	return strings.Join(urls, ",")
}

// any sends a request to the first node that answers (one may be down).
func (c *esCluster) any(method, path string) (int, []byte, error) {
	var lastErr error
	for i := 1; i <= clusterNodes; i++ {
		st, b, err := esServer{url: c.nodeURL(i), admin: c.admin}.do(method, path, nil)
		if err == nil {
			return st, b, nil
		}
		lastErr = err
	}
	return 0, nil, lastErr
}

// health is the cluster's status (green, yellow, red) and node count.
func (c *esCluster) health() (string, int, error) {
	st, b, err := c.any("GET", "/_cluster/health")
	if err != nil {
		return "", 0, err
	}
	if st != 200 {
		return "", 0, fmt.Errorf("_cluster/health: HTTP %d %s", st, b)
	}
	var h struct {
		Status string `json:"status"`
		Nodes  int    `json:"number_of_nodes"`
	}
	return h.Status, h.Nodes, json.Unmarshal(b, &h)
}

func (c *esCluster) script(args ...string) {
	c.t.Helper()
	cmd := exec.Command(esScript, args...)
	cmd.Env = c.env
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		c.t.Fatalf("%s %s: %v", esScript, strings.Join(args, " "), err)
	}
}

func portFree(p int) bool {
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// startCluster starts the drill's cluster and stops it when the test ends.
func startCluster(t *testing.T) *esCluster {
	t.Helper()
	port := 19200
	if v := os.Getenv("ES_CLUSTER_PORT"); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("ES_CLUSTER_PORT=%q: %v", v, err)
		}
		port = p
	}
	// A stranger on our ports would answer in the cluster's place.
	for i := 0; i < clusterNodes; i++ {
		for _, p := range []int{port + i, port + 100 + i} {
			if !portFree(p) {
				t.Fatalf("port %d is taken: stop what holds it or set ES_CLUSTER_PORT", p)
			}
		}
	}
	stack := t.TempDir()
	c := &esCluster{t: t, stack: stack, port: port}
	c.env = append(os.Environ(),
		"ES_NODES="+strconv.Itoa(clusterNodes), "ES_PORT="+strconv.Itoa(port), "STACK_DIR="+stack,
		// The zip the shared stack downloaded: no second download.
		"ES_CACHE="+envOr("ES_CACHE", filepath.Join(envOr("STACK_DIR", filepath.Join(repoRoot, ".stack")), "cache")))
	// Registered after TempDir, so it runs before the folder is removed.
	t.Cleanup(func() {
		if t.Failed() {
			for i := 1; i <= clusterNodes; i++ {
				b, _ := os.ReadFile(filepath.Join(stack, "elasticsearch", fmt.Sprintf("node-%d", i), "logs", "alertingscout.log"))
				if len(b) > 4000 {
					b = b[len(b)-4000:]
				}
				t.Logf("node-%d log (tail):\n%s", i, b)
			}
		}
		cmd := exec.Command(esScript, "stop")
		cmd.Env = c.env
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		_ = cmd.Run()
	})
	start := time.Now()
	c.script("start")
	t.Logf("cluster of %d nodes up in %s (install, users, start)", clusterNodes, time.Since(start).Round(time.Second))
	// Its own elastic-admin: es.sh made the password in the drill's STACK_DIR
	// (or took ES_PASSWORD_ELASTIC_ADMIN, as for the shared one).
	admin := credentials{user: "elastic-admin", password: os.Getenv("ES_PASSWORD_ELASTIC_ADMIN")}
	if admin.password == "" {
		b, err := os.ReadFile(filepath.Join(stack, "secrets", "elastic-admin"))
		if err != nil {
			t.Fatalf("the cluster's elastic-admin password: %v", err)
		}
		admin.password = strings.TrimSpace(string(b))
	}
	c.esServer = esServer{url: c.nodeURL(1), admin: admin}
	if status, nodes, err := c.health(); err != nil || nodes != clusterNodes || status != "green" {
		t.Fatalf("cluster after start: status %q, %d nodes, %v", status, nodes, err)
	}
	return c
}

// shardNodes names the nodes holding the primary and the replica of the
// index pattern's shard 0 (node-I), from _cat/shards.
func (c *esCluster) shardNodes(pattern string) (primary, replica string, err error) {
	st, b, err := c.any("GET", "/_cat/shards/"+pattern+"?format=json&h=index,shard,prirep,state,node")
	if err != nil || st != 200 {
		return "", "", fmt.Errorf("_cat/shards: %v HTTP %d %s", err, st, b)
	}
	var rows []struct{ Shard, Prirep, State, Node string }
	if err := json.Unmarshal(b, &rows); err != nil {
		return "", "", err
	}
	for _, r := range rows {
		if r.Shard == "0" && r.State == "STARTED" {
			if r.Prirep == "p" {
				primary = r.Node
			} else {
				replica = r.Node
			}
		}
	}
	if primary == "" || replica == "" {
		return "", "", fmt.Errorf("no started primary and replica of shard 0 in %s", b)
	}
	return primary, replica, nil
}

// master names the elected master node (node-I).
func (c *esCluster) master(string) (string, error) {
	st, b, err := c.any("GET", "/_cat/master?format=json&h=node")
	if err != nil || st != 200 {
		return "", fmt.Errorf("_cat/master: %v HTTP %d %s", err, st, b)
	}
	var rows []struct{ Node string }
	if err := json.Unmarshal(b, &rows); err != nil || len(rows) != 1 {
		return "", fmt.Errorf("_cat/master: %v %s", err, b)
	}
	return rows[0].Node, nil
}

func nodeNumber(name string) (int, error) {
	i, err := strconv.Atoi(strings.TrimPrefix(name, "node-"))
	if err != nil || i < 1 || i > clusterNodes {
		return 0, fmt.Errorf("unexpected node name %q", name)
	}
	return i, nil
}

func TestElasticsearchClusterNodeKill(t *testing.T) {
	c := startCluster(t)
	// Each row kills a node on the same cluster, one after the other.
	type drill struct {
		name   string
		victim func(pattern string) (string, error) // node-I to kill
		down   time.Duration
		rate   int // records/s
	}
	cases := []drill{
		{
			// Its replica on another node must be promoted while records arrive.
			name: "primary-node",
			victim: func(pattern string) (string, error) {
				p, _, err := c.shardNodes(pattern)
				return p, err
			},
			down: 30 * time.Second, rate: 1000,
		},
	}
	if os.Getenv("ES_CLUSTER_DRILL") == "full" {
		// The cluster must elect a new master while records arrive.
		cases = append(cases, drill{
			name:   "master",
			victim: c.master,
			down:   30 * time.Second, rate: 1000,
		})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { clusterNodeKill(t, c, tc.name, tc.victim, tc.down, tc.rate) })
	}
}

func clusterNodeKill(t *testing.T, c *esCluster, name string, victimOf func(string) (string, error), down time.Duration, rate int) {
	logsIdx := fmt.Sprintf("logs-it-cluster-%s-%d", name, time.Now().UnixNano()%1_000_000_000)
	pattern := logsIdx + "-*"
	admin := c.admin
	col := newCollector(t, collectorOpts{
		config: "collector-cluster.yaml", logsIndex: logsIdx, esEndpoint: c.endpoints(), esUser: &admin,
		batchMin: 200, batchMax: 2000,
	})
	col.start()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := &streamer{}
	var wg sync.WaitGroup
	wg.Add(1)
	const per = 50
	go func() {
		defer wg.Done()
		s.run(ctx, func() int { return col.otlpPort }, "cluster1", rate, per, time.Now().UTC().Add(-time.Minute))
	}()

	// Load first, then the index exists with its replica allocated.
	time.Sleep(10 * time.Second)
	if st, b, err := c.any("GET", "/_cluster/health/"+pattern+"?wait_for_status=green&timeout=30s"); err != nil || st != 200 {
		t.Fatalf("the drill's index is not green before the kill: %v HTTP %d %s", err, st, b)
	}
	st, b, err := c.any("GET", "/"+pattern+"/_settings/index.number_of_replicas?flat_settings=true")
	if err != nil || st != 200 || !strings.Contains(string(b), `"index.number_of_replicas":"1"`) {
		t.Fatalf("the drill's index must have one replica (es.sh's templates on a cluster): %v HTTP %d %s", err, st, b)
	}
	victim, err := victimOf(pattern)
	if err != nil {
		t.Fatal(err)
	}
	node, err := nodeNumber(victim)
	if err != nil {
		t.Fatal(err)
	}
	ackedAtKill := s.acked.len()
	c.script("kill-node", strconv.Itoa(node))
	killed := time.Now()
	t.Logf("SIGKILLed %s with %d records acknowledged", victim, ackedAtKill)

	// While it is down: yellow (a copy of every shard is left), never red; and
	// the Collector keeps indexing through the other nodes of its list rather
	// than holding everything in its queue until the dead one returns.
	statuses := map[string]int{}
	indexedAtKill := c.countAny(t, pattern)
	for time.Since(killed) < down {
		if status, _, err := c.health(); err == nil {
			statuses[status]++
		} else {
			statuses["unreachable"]++
		}
		time.Sleep(time.Second)
	}
	if statuses["red"] > 0 || statuses["unreachable"] > 0 {
		t.Errorf("cluster health while %s was down: %v (want yellow, never red or unreachable)", victim, statuses)
	}
	if statuses["yellow"] == 0 {
		t.Errorf("the cluster never went yellow while %s was down: %v", victim, statuses)
	}
	indexedWhileDown := c.countAny(t, pattern) - indexedAtKill
	if indexedWhileDown <= 0 {
		t.Errorf("nothing was indexed while %s was down: the Collector must use the other nodes", victim)
	}

	restarted := time.Now()
	c.script("start-node", strconv.Itoa(node)) // returns once the node has joined
	joined := time.Since(restarted)
	var toGreen time.Duration
	for {
		if status, nodes, err := c.health(); err == nil && status == "green" && nodes == clusterNodes {
			toGreen = time.Since(restarted)
			break
		}
		if time.Since(restarted) > 3*time.Minute {
			t.Fatalf("the cluster is not green 3 min after %s restarted", victim)
		}
		time.Sleep(250 * time.Millisecond)
	}
	// Steady load a little longer on the healed cluster.
	time.Sleep(5 * time.Second)
	cancel()
	wg.Wait()

	acked := s.acked.len()
	indexed := waitCountOn(t, c.esServer, pattern, acked, 120*time.Second)
	counts := c.seqCounts(t, pattern)
	lost, dupRecords, extraDocs := 0, 0, 0
	for seq := range s.acked.ack {
		if counts[seq] == 0 {
			lost++
		}
	}
	for seq, n := range counts {
		if n > 1 {
			dupRecords++
			extraDocs += n - 1
		}
		if seq < 0 || seq >= s.next {
			t.Errorf("unexpected seq %d", seq)
		}
	}
	refused := s.errs * per
	fig := "FIGURE es-cluster-" + name
	fmt.Printf("%s: records sent %d (acknowledged %d, refused %d), indexed %d distinct (%d documents), duplicated %d, lost %d\n",
		fig, s.next, acked, refused, len(counts), indexed, dupRecords, lost)
	fmt.Printf("%s: %s SIGKILLed at %d records/s with %d acknowledged, down %s (health while down %v, %d records indexed meanwhile); joined %.1f s after its restart; green %.1f s after its restart\n",
		fig, victim, rate, ackedAtKill, down.Round(time.Second), statuses, indexedWhileDown, joined.Seconds(), toGreen.Seconds())
	if s.errs > 0 {
		t.Errorf("the Collector refused %d OTLP requests (last: %v)", s.errs, s.lastErr)
	}
	if lost > 0 {
		t.Errorf("%d acknowledged records are not indexed", lost)
	}
	if dupRecords > 0 {
		t.Errorf("%d records indexed more than once (%d extra documents)", dupRecords, extraDocs)
	}
	if indexed != len(counts) || len(counts) != acked {
		t.Errorf("indexed %d documents, %d distinct seqs, %d acknowledged", indexed, len(counts), acked)
	}
	m := col.metrics()
	if f := metricSum(m, "otelcol_elasticsearch_docs_processed", `outcome="failed"`); f != 0 {
		t.Errorf("%v documents failed (permanent errors) during a node loss", f)
	}
	t.Logf("exporter outcomes: %s", grepLines(m, "otelcol_elasticsearch_docs_processed{"))
}

// countAny refreshes and counts through any live node.
func (c *esCluster) countAny(t *testing.T, pattern string) int {
	t.Helper()
	if _, _, err := c.any("POST", "/"+pattern+"/_refresh"); err != nil {
		t.Fatalf("refresh: %v", err)
	}
	st, b, err := c.any("GET", "/"+pattern+"/_count")
	if err != nil || st != 200 {
		t.Fatalf("_count: %v HTTP %d %s", err, st, b)
	}
	var r struct {
		Count int `json:"count"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r.Count
}

// waitCountOn polls a server until the pattern holds want documents or the
// timeout passes; it returns the last count.
func waitCountOn(t *testing.T, s esServer, pattern string, want int, timeout time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := -1
	for {
		if n, err := s.count(pattern); err == nil {
			last = n
			if n >= want {
				time.Sleep(2 * time.Second) // stragglers (duplicates would show here)
				if n2, err := s.count(pattern); err == nil {
					last = n2
				}
				return last
			}
		}
		if time.Now().After(deadline) {
			return last
		}
		time.Sleep(500 * time.Millisecond)
	}
}
