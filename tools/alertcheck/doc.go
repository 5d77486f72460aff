// Package alertcheck holds tests only; see go.mod.
package alertcheck
