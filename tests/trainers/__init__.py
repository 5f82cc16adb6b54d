"""Tests of trainers/."""
