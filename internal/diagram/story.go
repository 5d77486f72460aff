package diagram

import (
	"slices"
	"strings"
)

// Story is one user story of the RFC ("Proposed Cluster Architecture"): a
// person and the parts of the station they use directly. Everything else in
// the story's view follows from the graph's edges.
type Story struct {
	// Name names the view's file, e.g. "listener".
	Name string
	// Actor is the person, e.g. "Listener".
	Actor string
	// Entries are the labels of the nodes the story starts from. The person
	// reaches them through the load balancer when the ingress routes to them,
	// straight when they are a CDN, and not at all otherwise (Alloy is in the
	// developer's story for what it does, not because a developer calls it).
	Entries []string
}

// Stories are the RFC's user stories. Management has "basically the same
// needs as DJs and Developers" (RFC), so it has no view of its own.
var Stories = []Story{
	// View the site, tune in (audio and video), chat, find DJs (API), listen to past broadcasts (CDN).
	{Name: "listener", Actor: "Listener", Entries: []string{"site", "api", "relay", "onair", "video", "chat", "analytics", "CDN"}},
	// Stream audio and video, upload past broadcasts and schedule shows (admin site and API).
	{Name: "djvj", Actor: "DJ / VJ", Entries: []string{"liquidsoap", "video", "admin", "api"}},
	// Status of each component, metrics, alerts to Discord, log queries.
	{Name: "developer", Actor: "Developer", Entries: []string{"statuspage", "monitoring", "alloy"}},
}

// matches reports whether a node is one of the entries: by label, by the
// label's first word (a release "monitoring (kube-prometheus-stack)"), or by
// kind for "CDN".
func (s Story) matches(n *Node) bool {
	first, _, _ := strings.Cut(n.Label, " ")
	return slices.Contains(s.Entries, n.Label) || slices.Contains(s.Entries, first)
}

// View is the part of the graph a story touches: the actor, the way in
// (load balancer and ingress controller) to each entry the ingress routes
// to, and everything the entries reach. Shallow edges (a status check, the
// site's calls to the public API, a metrics scrape) show their target
// without following it: that target's dependencies belong to other stories.
func (g *Graph) View(s Story) *Graph {
	v := newGraph()
	actor := v.addNode(&Node{ID: "actor", Label: s.Actor, Kind: KindActor})
	into := map[string][]Edge{} // node → edges that reach it
	from := map[string][]Edge{}
	for _, e := range g.Edges() {
		into[e.To] = append(into[e.To], e)
		from[e.From] = append(from[e.From], e)
	}
	var queue []string
	ids := make([]string, 0, len(g.Nodes))
	for id := range g.Nodes {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		n := g.Nodes[id]
		if !s.matches(n) || n.Kind == KindActor {
			continue
		}
		queue = append(queue, id)
		v.addNode(n)
		entered := false
		for _, in := range into[id] {
			controller := g.Nodes[in.From]
			if controller.Kind != KindRelease || !strings.HasPrefix(in.Label, "https") && !strings.HasPrefix(in.Label, "tcp") {
				continue
			}
			// The way in: actor → load balancer → controller → entry.
			v.addNode(controller)
			v.connect(controller.ID, id, in.Label, false)
			for _, lb := range into[controller.ID] {
				if g.Nodes[lb.From].Kind == KindBalancer {
					v.addNode(g.Nodes[lb.From])
					v.connect(lb.From, controller.ID, lb.Label, false)
					v.connect(actor.ID, lb.From, "", false)
					entered = true
				}
			}
			if !entered {
				v.connect(actor.ID, controller.ID, "", false)
				entered = true
			}
		}
		if !entered && n.Kind == KindCDN {
			v.connect(actor.ID, id, "", false)
		}
	}
	seen := map[string]bool{}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		if seen[id] {
			continue
		}
		seen[id] = true
		for _, e := range from[id] {
			v.addNode(g.Nodes[e.To])
			v.connect(e.From, e.To, e.Label, e.Shallow)
			if !e.Shallow {
				queue = append(queue, e.To)
			}
		}
	}
	return v
}
