"""Task modules (ner, re, qa) sharing one contract: encode, loss, decode, metrics."""
