"""Live diagnosis inside other frameworks' training loops: PyTorch Lightning and Keras callbacks.

Each framework is imported only inside the function that builds its callback; `import goodfit`
pulls in neither.
"""
