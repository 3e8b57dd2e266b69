"""Pure stage functions over typed models. Nothing here imports faust, aiokafka or prometheus."""
