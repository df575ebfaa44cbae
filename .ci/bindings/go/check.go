// The Go bindings of one generated output on the relay's own dry-run output: every published
// entry, as the envelope a consumer receives, parses with its deterministic id and keeps every
// digit of its numbers; every sample parses; events the schemas refuse (a required field missing
// or of the wrong type, an unknown field in a closed detail, an unknown detail-type) are refused,
// naming the field.
//
// The test command copies this file into a module that requires the generated one, with
// EVENTS_MODULE replaced by its path. Usage: go run . GENERATED_DIR DRYRUN_FILE
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	events "EVENTS_MODULE"
)

const poison = "Outbox Poison Record"

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "go bindings: "+format+"\n", args...)
	os.Exit(1)
}

func decode(data []byte) map[string]any {
	decoder := json.NewDecoder(bytes.NewReader(data))
	decoder.UseNumber()
	var v map[string]any
	if err := decoder.Decode(&v); err != nil {
		fail("%v: %s", err, data)
	}
	return v
}

func refused(event map[string]any, path string) {
	data, _ := json.Marshal(event)
	_, err := events.ParseEvent(data)
	var parseError *events.ParseError
	if !errors.As(err, &parseError) {
		fail("accepted, expected a refusal at %s: %s", path, data)
	}
	if parseError.Path != path {
		fail("refused at %s, expected %s: %v", parseError.Path, path, err)
	}
}

var long = regexp.MustCompile(`-?[0-9]+\.?[0-9]*(?:[eE][-+]?[0-9]+)?`)

func main() {
	generated, dryrun := os.Args[1], os.Args[2]
	file, err := os.Open(dryrun)
	if err != nil {
		fail("%v", err)
	}
	scanner := bufio.NewScanner(file)
	scanner.Buffer(make([]byte, 1<<20), 1<<24)
	parsed, dead, exact := 0, 0, 0
	for i := 0; scanner.Scan(); i++ {
		line := strings.TrimSpace(scanner.Text())
		if line == "" {
			continue
		}
		var entry struct {
			Source, DetailType, Detail string
			Resources                  []string
		}
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			fail("%v", err)
		}
		head, _ := json.Marshal(map[string]any{
			"version": "0", "id": fmt.Sprintf("00000000-0000-4000-8000-%012d", i), "detail-type": entry.DetailType,
			"source": entry.Source, "account": "123456789012", "time": "2026-12-05T10:00:00Z", "region": "eu-west-1",
			"resources": entry.Resources,
		})
		// The detail as the relay sent it: every digit of its numbers.
		text := string(head[:len(head)-1]) + `,"detail":` + entry.Detail + "}"
		if entry.DetailType == poison {
			refused(decode([]byte(text)), "$.detail-type")
			dead++
			continue
		}
		event, err := events.ParseEvent([]byte(text))
		if err != nil {
			fail("%v: %s", err, text)
		}
		if event.EventID() != entry.Resources[0] {
			fail("id %s, expected %s", event.EventID(), entry.Resources[0])
		}
		again, _ := json.Marshal(event)
		for _, number := range long.FindAllString(entry.Detail, -1) {
			if len(strings.Trim(number, "-.")) > 17 {
				if !strings.Contains(string(again), number) {
					fail("%s lost digits: %s", number, again)
				}
				exact++
			}
		}
		parsed++
	}
	files, _ := filepath.Glob(filepath.Join(generated, "schemas", "*.json"))
	sort.Strings(files)
	refusals := 0
	for _, file := range files {
		data, _ := os.ReadFile(file)
		schema := decode(data)
		title := schema["title"].(string)
		sample, ok := events.Samples[title]
		if !ok {
			fail("no sample of %s", title)
		}
		if event, err := events.ParseEvent([]byte(sample)); err != nil || !strings.HasPrefix(event.EventID(), "urn:outbox:event:") {
			fail("the sample of %s: %v", title, err)
		}
		detail := schema["$defs"].(map[string]any)["detail"].(map[string]any)
		properties, _ := detail["properties"].(map[string]any)
		required, _ := detail["required"].([]any)
		for _, field := range required {
			name := field.(string)
			missing := decode([]byte(sample))
			delete(missing["detail"].(map[string]any), name)
			refused(missing, "$.detail."+name)
			wrong := decode([]byte(sample))
			property, _ := properties[name].(map[string]any)
			if property["type"] == "string" {
				wrong["detail"].(map[string]any)[name] = 42
			} else {
				wrong["detail"].(map[string]any)[name] = "not-this"
			}
			refused(wrong, "$.detail."+name)
			refusals += 2
		}
		if detail["additionalProperties"] == false {
			extra := decode([]byte(sample))
			extra["detail"].(map[string]any)["outboxUnexpectedField"] = 1
			refused(extra, "$.detail.outboxUnexpectedField")
			refusals++
		}
		unknown := decode([]byte(sample))
		unknown["detail-type"] = "No Such Event"
		refused(unknown, "$.detail-type")
	}
	if parsed == 0 && dead == 0 {
		fail("the dry run published no events")
	}
	fmt.Printf("%s: Go bindings parsed %d published events (%d dead letters refused, %d numbers beyond a float exact), %d samples, %d refusals\n", generated, parsed, dead, exact, len(files), refusals)
}
