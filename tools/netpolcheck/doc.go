// Package netpolcheck evaluates every row of the station's connectivity table
// against the NetworkPolicies and CiliumNetworkPolicies the program declares
// for each stack. See check.go.
package netpolcheck
