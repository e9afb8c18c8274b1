"""The course's homework checks, the student's check command and the instructor's grading."""

from cnnlens.course.checks import CheckFailed, check, expect

__all__ = ["CheckFailed", "check", "expect"]
