package elasticsearchexporter

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
)

// bulkItem is one document of a _bulk request.
type bulkItem struct {
	index string
	id    string
	doc   []byte
	pos   int // position of the record in the exported batch
}

// writeBulkBody appends the NDJSON body of a _bulk request of `create`
// actions: a replayed document with the same _id gets 409 instead of
// overwriting or duplicating.
func writeBulkBody(buf *bytes.Buffer, items []bulkItem) {
	for _, it := range items {
		buf.WriteString(`{"create":{"_index":`)
		buf.WriteString(strconv.Quote(it.index))
		buf.WriteString(`,"_id":`)
		buf.WriteString(strconv.Quote(it.id))
		buf.WriteString("}}\n")
		buf.Write(it.doc)
		buf.WriteByte('\n')
	}
}

// bulkFilterPath trims the _bulk response to what the exporter reads.
var bulkFilterPath = []string{"errors", "items.*._index", "items.*._id", "items.*.status", "items.*.error"}

type bulkResponse struct {
	Errors bool                        `json:"errors"`
	Items  []map[string]bulkItemResult `json:"items"`
}

type bulkItemResult struct {
	Index  string     `json:"_index"`
	ID     string     `json:"_id"`
	Status int        `json:"status"`
	Error  *bulkError `json:"error,omitempty"`
}

type bulkError struct {
	Type     string     `json:"type"`
	Reason   string     `json:"reason"`
	CausedBy *bulkError `json:"caused_by,omitempty"`
}

func (e *bulkError) String() string {
	if e == nil {
		return ""
	}
	s := e.Type + ": " + e.Reason
	if e.CausedBy != nil {
		s += " (caused by " + e.CausedBy.String() + ")"
	}
	return s
}

// outcome of one document, also the value of the `outcome` metric attribute.
type outcome string

const (
	outcomeIndexed   outcome = "indexed"
	outcomeDuplicate outcome = "duplicate"
	outcomeRetried   outcome = "retried"
	outcomeFailed    outcome = "failed"
)

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

// itemResult is the outcome of one sent item.
type itemResult struct {
	item    bulkItem
	outcome outcome
	status  int
	reason  string
}

// readBulkResponse pairs every sent item with its result. A response
// without an answer for an item marks that item as retried (never dropped).
func readBulkResponse(body io.Reader, items []bulkItem) ([]itemResult, error) {
	var resp bulkResponse
	if err := json.NewDecoder(body).Decode(&resp); err != nil {
		return nil, fmt.Errorf("decoding _bulk response: %w", err)
	}
	results := make([]itemResult, len(items))
	for i, it := range items {
		results[i].item = it
		if i >= len(resp.Items) {
			results[i].outcome = outcomeRetried
			results[i].reason = "no result for this item in the _bulk response"
			continue
		}
		var r bulkItemResult
		for _, v := range resp.Items[i] { // one key: the action name
			r = v
		}
		results[i].status = r.Status
		results[i].outcome = classifyStatus(r.Status)
		results[i].reason = r.Error.String()
	}
	return results, nil
}
