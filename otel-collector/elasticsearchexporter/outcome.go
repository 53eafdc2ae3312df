package elasticsearchexporter

import (
	"context"
	"fmt"
	"strings"

	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.uber.org/zap"
)

// outcome of one document, also the value of the `outcome` metric attribute.
type outcome string

const (
	outcomeIndexed   outcome = "indexed"
	outcomeDuplicate outcome = "duplicate"
	outcomeRetried   outcome = "retried"
	outcomeFailed    outcome = "failed"
)

// maxLoggedFailures bounds the per-document error lines logged per bulk;
// every failure is counted regardless.
const maxLoggedFailures = 20

// classifyStatus maps an item status to its outcome: 2xx indexed, 409 on
// create = already indexed, 429 and 5xx retried, any other status permanent.
func classifyStatus(status int) outcome {
	switch {
	case status >= 200 && status < 300:
		return outcomeIndexed
	case status == 409:
		return outcomeDuplicate
	case status == 429 || status >= 500:
		return outcomeRetried
	default:
		return outcomeFailed
	}
}

// errorType is the metric's error.type of a permanent item failure: the
// Elasticsearch error type that starts the reason ("type: reason").
func errorType(reason string) string {
	if i := strings.IndexByte(reason, ':'); i > 0 {
		return reason[:i]
	}
	return "unknown"
}

// bulkSummary tells the caller what to do with the batch.
type bulkSummary struct {
	retryPos map[int]struct{} // positions to send again
	indexed  int              // indexed or already indexed
	failed   int              // permanently failed
	firstErr string           // first permanent failure reason
}

// classify sorts the items of a read _bulk response by outcome: it counts
// every document in docs_processed, logs the permanent failures (the first
// maxLoggedFailures of them) and returns what must be retried.
func (e *esExporter) classify(ctx context.Context, results []itemResult) bulkSummary {
	var sum bulkSummary
	counts := map[outcome]int{}
	failedByType := map[string]int{}
	for _, r := range results {
		counts[r.outcome]++
		switch r.outcome {
		case outcomeIndexed, outcomeDuplicate:
			sum.indexed++
		case outcomeRetried:
			if sum.retryPos == nil {
				sum.retryPos = map[int]struct{}{}
			}
			sum.retryPos[r.item.pos] = struct{}{}
		case outcomeFailed:
			sum.failed++
			if sum.firstErr == "" {
				sum.firstErr = r.reason
			}
			failedByType[errorType(r.reason)]++
			if sum.failed <= maxLoggedFailures {
				e.logger.Error("Elasticsearch rejected a document; it is dropped (not retried)",
					zap.String("signal", e.signal.items), zap.String("index", r.item.index), zap.String("id", r.item.id),
					zap.Int("status", r.status), zap.String("reason", r.reason))
			}
		}
	}
	for typ, n := range failedByType {
		e.tel.addFailedDocs(ctx, typ, n)
	}
	for _, o := range []outcome{outcomeIndexed, outcomeDuplicate, outcomeRetried} {
		e.tel.addDocs(ctx, o, counts[o])
	}
	if sum.failed > maxLoggedFailures {
		e.logger.Error("more documents were rejected than logged", zap.String("signal", e.signal.items), zap.Int("failed", sum.failed))
	}
	return sum
}

// finish turns a bulk summary into the error exporterhelper acts on: the
// retryable items only (partial), a permanent error when nothing of the batch
// could be indexed, nil otherwise.
func finish(sum bulkSummary, encodeFailed int, total int, partial func(error) error) error {
	if len(sum.retryPos) > 0 {
		// Only the retryable items go back to retry_on_failure.
		return partial(fmt.Errorf("%d of %d documents must be retried (429/5xx)", len(sum.retryPos), total))
	}
	if sum.indexed == 0 && (sum.failed > 0 || encodeFailed > 0) {
		return consumererror.NewPermanent(fmt.Errorf("all %d documents were rejected by Elasticsearch: %s", total, sum.firstErr))
	}
	return nil
}
