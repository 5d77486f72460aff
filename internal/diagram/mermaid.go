package diagram

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// layerTitles name the layers' subgraphs.
var layerTitles = map[string]string{Foundation: "foundation", Platform: "platform", Station: "station"}

// Mermaid renders the graph as a Mermaid flowchart: one subgraph per layer,
// one per namespace inside it, nodes and edges sorted so that the same
// resources always give the same text.
func (g *Graph) Mermaid() string {
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	byLayer := map[string]map[string][]*Node{}
	for _, n := range g.Nodes {
		if byLayer[n.Layer] == nil {
			byLayer[n.Layer] = map[string][]*Node{}
		}
		byLayer[n.Layer][n.Group] = append(byLayer[n.Layer][n.Group], n)
	}
	writeNodes := func(indent string, nodes []*Node) {
		slices.SortFunc(nodes, func(a, b *Node) int { return cmp.Compare(a.ID, b.ID) })
		for _, n := range nodes {
			fmt.Fprintf(&b, "%s%s\n", indent, shape(n))
		}
	}
	writeNodes("  ", byLayer[""][""])
	for _, layer := range []string{Foundation, Platform, Station} {
		groups := byLayer[layer]
		if len(groups) == 0 {
			continue
		}
		title := layerTitles[layer]
		if layer == Foundation && g.onDigitalOcean() {
			title = "DigitalOcean foundation"
		}
		fmt.Fprintf(&b, "  subgraph layer_%s[\"%s\"]\n", layer, title)
		writeNodes("    ", groups[""])
		names := make([]string, 0, len(groups))
		for name := range groups {
			if name != "" {
				names = append(names, name)
			}
		}
		slices.Sort(names)
		for _, name := range names {
			fmt.Fprintf(&b, "    subgraph ns_%s[\"namespace %s\"]\n", unsafeID.ReplaceAllString(name, "_"), name)
			writeNodes("      ", groups[name])
			b.WriteString("    end\n")
		}
		b.WriteString("  end\n")
	}
	for _, e := range g.Edges() {
		arrow := "-->"
		if e.Shallow {
			arrow = "-.->"
		}
		if e.Label == "" {
			fmt.Fprintf(&b, "  %s %s %s\n", e.From, arrow, e.To)
		} else {
			fmt.Fprintf(&b, "  %s %s|\"%s\"| %s\n", e.From, arrow, escape(e.Label), e.To)
		}
	}
	return b.String()
}

func (g *Graph) onDigitalOcean() bool {
	for id := range g.Nodes {
		if strings.HasPrefix(id, "do_") {
			return true
		}
	}
	return false
}

// shape draws a node in the shape of its kind.
func shape(n *Node) string {
	label := escape(n.Label)
	switch n.Kind {
	case KindDatabase:
		return fmt.Sprintf("%s[(\"%s\")]", n.ID, label)
	case KindBucket:
		return fmt.Sprintf("%s[/\"%s\"/]", n.ID, label)
	case KindCDN, KindBalancer:
		return fmt.Sprintf("%s{{\"%s\"}}", n.ID, label)
	case KindRelease:
		return fmt.Sprintf("%s[[\"%s\"]]", n.ID, label)
	case KindExternal, KindActor:
		return fmt.Sprintf("%s([\"%s\"])", n.ID, label)
	}
	return fmt.Sprintf("%s[\"%s\"]", n.ID, label)
}

func escape(s string) string { return strings.ReplaceAll(s, `"`, "#quot;") }
